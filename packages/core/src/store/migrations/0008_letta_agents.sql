CREATE TABLE "letta_agents" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"letta_agent_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "letta_agents_letta_agent_id_unique" UNIQUE("letta_agent_id")
);
--> statement-breakpoint
ALTER TABLE "letta_agents" ADD CONSTRAINT "letta_agents_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Row level security as for every table (see 0007): a Letta agent id is no secret, but no client needs it.
ALTER TABLE "letta_agents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
DO $migration$
BEGIN
  IF to_regrole('anon') IS NOT NULL AND to_regrole('authenticated') IS NOT NULL THEN
    REVOKE ALL ON letta_agents FROM anon, authenticated;
  END IF;
END
$migration$;
