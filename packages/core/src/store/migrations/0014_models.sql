ALTER TABLE "conversations" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "letta_agents" ADD COLUMN "model" text;