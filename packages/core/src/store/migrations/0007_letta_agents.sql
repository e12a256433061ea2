CREATE TABLE "letta_agents" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"letta_agent_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "letta_agents_letta_agent_id_unique" UNIQUE("letta_agent_id")
);
--> statement-breakpoint
ALTER TABLE "letta_agents" ADD CONSTRAINT "letta_agents_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;