-- A budget's existing limit stays as the user's own cap; the operator's limit (DEFAULT_BUDGET_USD until an
-- admin sets one for the user) now bounds it, and the limit in force is the lower of the two.
ALTER TABLE "budgets" ADD COLUMN "operator_limit_micros" bigint;--> statement-breakpoint
ALTER TABLE "budgets" ADD COLUMN "operator_set" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "disabled_at" timestamp with time zone;