CREATE TABLE "memory_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "memory_versions_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" uuid NOT NULL,
	"label" text NOT NULL,
	"value" text NOT NULL,
	"previous_value" text,
	"author" text NOT NULL,
	"run_id" uuid,
	"message_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "memory_versions" ADD CONSTRAINT "memory_versions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "memory_versions_user_seq_idx" ON "memory_versions" USING btree ("user_id","seq");--> statement-breakpoint
CREATE INDEX "memory_versions_user_label_seq_idx" ON "memory_versions" USING btree ("user_id","label","seq");--> statement-breakpoint
-- The blocks that exist already start their history with their current value, as the system's.
INSERT INTO "memory_versions" ("id", "user_id", "label", "value", "author", "created_at")
  SELECT gen_random_uuid(), agents.user_id, memory_blocks.label, memory_blocks.value, 'system', memory_blocks.updated_at
  FROM memory_blocks JOIN agents ON agents.id = memory_blocks.agent_id
  ORDER BY memory_blocks.updated_at;--> statement-breakpoint
-- Row level security as for every table (see 0007): a user may read their own memory's history.
ALTER TABLE "memory_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
DO $migration$
BEGIN
  IF to_regrole('anon') IS NOT NULL AND to_regrole('authenticated') IS NOT NULL THEN
    REVOKE ALL ON memory_versions FROM anon, authenticated;
  END IF;
  -- Only where 0007 could set up the policies' roles and auth.uid(), as it did for every other table.
  IF to_regrole('authenticated') IS NOT NULL AND to_regprocedure('auth.uid()') IS NOT NULL THEN
    GRANT SELECT ON memory_versions TO authenticated;
    CREATE POLICY memory_versions_select_own ON memory_versions FOR SELECT TO authenticated
      USING ((SELECT auth.uid()) = user_id);
  END IF;
END
$migration$;
