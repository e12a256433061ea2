ALTER TABLE "reservations" ADD COLUMN "prompt_tokens" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "received_tokens" integer DEFAULT 0 NOT NULL;