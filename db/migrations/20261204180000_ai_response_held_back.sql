-- Why a reply the auto-responder was confident enough to send is a draft for an agent instead
-- (issue 13: the agent sees it next to the draft). Mirrored in db/schema/06_ai_components.sql.
-- migrate:up
ALTER TABLE public.ai_responses ADD COLUMN IF NOT EXISTS held_back text
    CHECK (held_back IS NULL OR decision = 'drafted');
-- migrate:down
ALTER TABLE public.ai_responses DROP COLUMN IF EXISTS held_back;
