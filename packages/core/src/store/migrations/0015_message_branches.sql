ALTER TABLE "conversations" ADD COLUMN "leaf_message_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "parent_id" uuid;--> statement-breakpoint
CREATE INDEX "messages_conversation_parent_idx" ON "messages" USING btree ("conversation_id","parent_id");--> statement-breakpoint
-- Every conversation so far is one line: each message follows the one stored before it, and the newest is the leaf.
UPDATE "messages" AS m SET "parent_id" = p."previous"
FROM (SELECT "id", lag("id") OVER (PARTITION BY "conversation_id" ORDER BY "seq") AS "previous" FROM "messages") AS p
WHERE p."id" = m."id" AND p."previous" IS NOT NULL;--> statement-breakpoint
UPDATE "conversations" AS c SET "leaf_message_id" = (
  SELECT m."id" FROM "messages" AS m WHERE m."conversation_id" = c."id" ORDER BY m."seq" DESC LIMIT 1
);
