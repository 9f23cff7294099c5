-- initial_data.sql — demo data: the support organisation of "Flowdesk", a fictional
-- project-management SaaS (https://app.flowdesk.io).
--
-- Idempotent: every row has a fixed, hand-written id and every insert is ON CONFLICT DO NOTHING, so
-- running the file again adds nothing. It runs inside one transaction (db.migrate.seed); there is no
-- BEGIN/COMMIT here and no psql meta-command.
--
-- Id conventions (the first group names the table, the last digits number the row):
--   staff users      11111111-0000-4000-8000-0000000000NN   01 = admin, 02..08 = agents
--   customer users   22222222-0000-4000-8000-0000000000NN   01..10
--   teams            33333333-0000-4000-8000-0000000000NN   01 Billing & Accounts, 02 Technical Support,
--                                                           03 Integrations & API
--   skills           44444444-0000-4000-8000-0000000000NN
--   routing_rules    55555555-0000-4000-8000-0000000000NN
--   sla_policies     66666666-0000-4000-8000-0000000000NN   01 low, 02 normal, 03 high, 04 urgent
--   kb_categories    77777777-0000-4000-8000-0000000000NN
--   kb_articles      88888888-0000-4000-8000-0000000000NN
--   tickets          99999999-0000-4000-8000-0000000000TT   TT in creation order (oldest = 01)
--   conversations    aaaaaaaa-0000-4000-8000-00000000TTMM   ticket TT, message MM (01 = opening message)
--   kb feedback      bbbbbbbb-0000-4000-8000-0000000000NN
--
-- Facts used throughout (keep the KB articles, tickets and tests consistent with these):
--   Plans (per member per month): Free $0 (up to 5 members, 3 projects, 2 GB);
--     Team $12 monthly / $10 billed annually; Business $24 monthly / $20 billed annually;
--     Enterprise custom (annual only, from 50 members). Annual billing = two months free.
--   API rate limits per workspace: Free 60, Team 300, Business 1,000, Enterprise 3,000 requests/minute.
--   SAML SSO: Business and Enterprise; SCIM: Enterprise. 14-day Business trial, no card needed.
--   SLA first response / resolution: low 24h/5d, normal 8h/2d, high 2h/1d, urgent 30min/4h.

-- People -----------------------------------------------------------------------------------------

INSERT INTO public.users (id, email, full_name, role, status, organization, timezone, preferences, metadata, last_seen_at, created_at) VALUES
    ('11111111-0000-4000-8000-000000000001', 'maya.okafor@flowdesk.io', 'Maya Okafor', 'admin', 'active', 'Flowdesk', 'Europe/London',
     '{"language": "en", "theme": "light", "notifications": {"email": true, "desktop": true}}',
     '{"title": "Head of Support", "seed": true}', now() - interval '2 hours', now() - interval '400 days'),
    ('11111111-0000-4000-8000-000000000002', 'daniel.reyes@flowdesk.io', 'Daniel Reyes', 'agent', 'active', 'Flowdesk', 'America/New_York',
     '{"language": "en", "theme": "dark", "notifications": {"email": true, "desktop": true}, "signature": "Daniel, Flowdesk Billing"}',
     '{"title": "Billing Team Lead", "seed": true}', now() - interval '20 minutes', now() - interval '380 days'),
    ('11111111-0000-4000-8000-000000000003', 'lena.vogel@flowdesk.io', 'Lena Vogel', 'agent', 'active', 'Flowdesk', 'Europe/Berlin',
     '{"language": "de", "theme": "light", "notifications": {"email": true, "desktop": false}, "languages_spoken": ["en", "de"]}',
     '{"title": "Billing & Onboarding Specialist", "seed": true}', now() - interval '1 hour', now() - interval '300 days'),
    ('11111111-0000-4000-8000-000000000004', 'priya.natarajan@flowdesk.io', 'Priya Natarajan', 'agent', 'active', 'Flowdesk', 'Asia/Kolkata',
     '{"language": "en", "theme": "dark", "notifications": {"email": true, "desktop": true}}',
     '{"title": "Technical Support Lead", "seed": true}', now() - interval '35 minutes', now() - interval '360 days'),
    ('11111111-0000-4000-8000-000000000005', 'sam.whitfield@flowdesk.io', 'Sam Whitfield', 'agent', 'away', 'Flowdesk', 'Europe/London',
     '{"language": "en", "theme": "light", "notifications": {"email": false, "desktop": true}}',
     '{"title": "Technical Support Engineer", "seed": true}', now() - interval '3 hours', now() - interval '210 days'),
    ('11111111-0000-4000-8000-000000000006', 'camille.laurent@flowdesk.io', 'Camille Laurent', 'agent', 'active', 'Flowdesk', 'Europe/Paris',
     '{"language": "fr", "theme": "light", "notifications": {"email": true, "desktop": true}, "languages_spoken": ["en", "fr"]}',
     '{"title": "Technical Support Engineer", "seed": true}', now() - interval '10 minutes', now() - interval '150 days'),
    ('11111111-0000-4000-8000-000000000007', 'kenji.watanabe@flowdesk.io', 'Kenji Watanabe', 'agent', 'active', 'Flowdesk', 'America/Los_Angeles',
     '{"language": "en", "theme": "dark", "notifications": {"email": true, "desktop": true}}',
     '{"title": "Integrations & API Lead", "seed": true}', now() - interval '50 minutes', now() - interval '340 days'),
    ('11111111-0000-4000-8000-000000000008', 'aisha.bello@flowdesk.io', 'Aisha Bello', 'agent', 'offline', 'Flowdesk', 'America/Chicago',
     '{"language": "en", "theme": "system", "notifications": {"email": true, "desktop": false}}',
     '{"title": "Integrations Support Engineer", "seed": true}', now() - interval '14 hours', now() - interval '120 days')
ON CONFLICT DO NOTHING;

INSERT INTO public.users (id, email, full_name, role, status, organization, timezone, preferences, metadata, last_seen_at, created_at) VALUES
    ('22222222-0000-4000-8000-000000000001', 'olivia.chen@brightline.example', 'Olivia Chen', 'customer', 'active', 'Brightline Marketing', 'America/New_York',
     '{"language": "en", "preferred_channel": "email", "notifications": {"email": true}}',
     '{"plan": "team", "billing": "monthly", "seats": 14, "workspace": "brightline", "role_in_workspace": "owner", "seed": true}',
     now() - interval '3 hours', now() - interval '540 days'),
    ('22222222-0000-4000-8000-000000000002', 'marcus.johnson@northwind.example', 'Marcus Johnson', 'customer', 'active', 'Northwind Logistics', 'America/Chicago',
     '{"language": "en", "preferred_channel": "chat", "notifications": {"email": true}}',
     '{"plan": "business", "billing": "annual", "seats": 85, "workspace": "northwind", "role_in_workspace": "admin", "seed": true}',
     now() - interval '1 day', now() - interval '610 days'),
    ('22222222-0000-4000-8000-000000000003', 'sofia.rossi@lumen-arch.example', 'Sofia Rossi', 'customer', 'active', 'Lumen Architects', 'Europe/Rome',
     '{"language": "en", "preferred_channel": "web", "notifications": {"email": true}}',
     '{"plan": "team", "billing": "annual", "seats": 8, "workspace": "lumen", "role_in_workspace": "owner", "seed": true}',
     now() - interval '40 minutes', now() - interval '230 days'),
    ('22222222-0000-4000-8000-000000000004', 'jonas.weber@kraftwerk-digital.example', 'Jonas Weber', 'customer', 'active', 'Kraftwerk Digital GmbH', 'Europe/Berlin',
     '{"language": "de", "preferred_channel": "email", "notifications": {"email": true}}',
     '{"plan": "business", "billing": "annual", "seats": 32, "workspace": "kraftwerk", "role_in_workspace": "owner", "vat_id": "DE298765431", "seed": true}',
     now() - interval '20 hours', now() - interval '450 days'),
    ('22222222-0000-4000-8000-000000000005', 'amelie.dubois@atelier-moreau.example', 'Amélie Dubois', 'customer', 'active', 'Atelier Moreau', 'Europe/Paris',
     '{"language": "fr", "preferred_channel": "chat", "notifications": {"email": true}}',
     '{"plan": "team", "billing": "monthly", "seats": 11, "workspace": "atelier-moreau", "role_in_workspace": "admin", "seed": true}',
     now() - interval '6 hours', now() - interval '95 days'),
    ('22222222-0000-4000-8000-000000000006', 'ethan.brooks@pinecrest.example', 'Ethan Brooks', 'customer', 'active', 'Pinecrest Software', 'America/Los_Angeles',
     '{"language": "en", "preferred_channel": "email", "notifications": {"email": true}}',
     '{"plan": "business", "billing": "monthly", "seats": 46, "workspace": "pinecrest", "role_in_workspace": "admin", "seed": true}',
     now() - interval '2 hours', now() - interval '330 days'),
    ('22222222-0000-4000-8000-000000000007', 'hannah.kim@sunrisehealth.example', 'Hannah Kim', 'customer', 'active', 'Sunrise Health Clinics', 'America/Denver',
     '{"language": "en", "preferred_channel": "email", "notifications": {"email": true}}',
     '{"plan": "enterprise", "billing": "annual", "seats": 120, "workspace": "sunrise-health", "role_in_workspace": "admin", "seed": true}',
     now() - interval '2 days', now() - interval '700 days'),
    ('22222222-0000-4000-8000-000000000008', 'raj.patel@quantumretail.example', 'Raj Patel', 'customer', 'active', 'Quantum Retail', 'Europe/London',
     '{"language": "en", "preferred_channel": "email", "notifications": {"email": true}}',
     '{"plan": "business", "billing": "annual", "seats": 60, "workspace": "quantum-retail", "role_in_workspace": "owner", "seed": true}',
     now() - interval '1 day', now() - interval '520 days'),
    ('22222222-0000-4000-8000-000000000009', 'grace.murphy@fernbrook.example', 'Grace Murphy', 'customer', 'active', 'Fernbrook Community Trust', 'Europe/Dublin',
     '{"language": "en", "preferred_channel": "email", "notifications": {"email": true}}',
     '{"plan": "free", "billing": null, "seats": 4, "workspace": "fernbrook", "role_in_workspace": "owner", "nonprofit": true, "seed": true}',
     now() - interval '2 days', now() - interval '60 days'),
    ('22222222-0000-4000-8000-000000000010', 'lucas.silva@tidewave.example', 'Lucas Silva', 'customer', 'active', 'Tidewave Studio', 'America/Sao_Paulo',
     '{"language": "en", "preferred_channel": "chat", "notifications": {"email": false}}',
     '{"plan": "team", "billing": "monthly", "seats": 9, "workspace": "tidewave", "role_in_workspace": "admin", "seed": true}',
     now() - interval '5 hours', now() - interval '180 days')
ON CONFLICT DO NOTHING;

-- Teams, skills and routing ------------------------------------------------------------------------

INSERT INTO public.teams (id, name, description, email, metadata) VALUES
    ('33333333-0000-4000-8000-000000000001', 'Billing & Accounts',
     'Plans, upgrades and downgrades, invoices, VAT, refunds, failed payments, workspace ownership and onboarding of new paying accounts (including German- and French-language onboarding).',
     'billing@flowdesk.io', '{"hours": "Mon-Fri 08:00-20:00 CET/ET", "seed": true}'),
    ('33333333-0000-4000-8000-000000000002', 'Technical Support',
     'Sign-in, SAML SSO, SCIM and 2FA, security and compliance questions, data export and GDPR requests, performance, sync and notification problems. Default team for anything not routed elsewhere; owns incident communication.',
     'support@flowdesk.io', '{"hours": "24/5, weekend on-call for urgent tickets", "seed": true}'),
    ('33333333-0000-4000-8000-000000000003', 'Integrations & API',
     'The public REST API (keys, rate limits, pagination), webhooks, and the Slack, GitHub, Zapier and Google Calendar integrations.',
     'api-support@flowdesk.io', '{"hours": "Mon-Fri 09:00-18:00 PT", "seed": true}')
ON CONFLICT DO NOTHING;

INSERT INTO public.skills (id, name, description) VALUES
    ('44444444-0000-4000-8000-000000000001', 'billing', 'Plans, pricing, invoices, VAT and payment methods'),
    ('44444444-0000-4000-8000-000000000002', 'refunds', 'Refunds, credits and the refund approval policy'),
    ('44444444-0000-4000-8000-000000000003', 'sso', 'SAML single sign-on (Okta, Microsoft Entra ID / Azure AD, Google), SCIM provisioning'),
    ('44444444-0000-4000-8000-000000000004', 'security', 'Account security, 2FA, compliance documents (SOC 2, DPA, BAA)'),
    ('44444444-0000-4000-8000-000000000005', 'api', 'REST API v2: authentication, rate limits, pagination, errors'),
    ('44444444-0000-4000-8000-000000000006', 'webhooks', 'Webhook delivery, signatures and retries'),
    ('44444444-0000-4000-8000-000000000007', 'integrations', 'Slack, GitHub, Zapier and Google Calendar integrations'),
    ('44444444-0000-4000-8000-000000000008', 'data-export', 'CSV and full workspace exports, GDPR erasure and deletion'),
    ('44444444-0000-4000-8000-000000000009', 'onboarding', 'Workspace setup, invitations, roles, first projects'),
    ('44444444-0000-4000-8000-000000000010', 'troubleshooting', 'Performance, sync, notifications and browser problems'),
    ('44444444-0000-4000-8000-000000000011', 'german', 'Support in German'),
    ('44444444-0000-4000-8000-000000000012', 'french', 'Support in French')
ON CONFLICT DO NOTHING;

INSERT INTO public.team_skills (team_id, skill_id) VALUES
    ('33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000001'),
    ('33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000002'),
    ('33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000009'),
    ('33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000011'),
    ('33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000012'),
    ('33333333-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000003'),
    ('33333333-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000004'),
    ('33333333-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000008'),
    ('33333333-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000010'),
    ('33333333-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000009'),
    ('33333333-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000005'),
    ('33333333-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000006'),
    ('33333333-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000007')
ON CONFLICT DO NOTHING;

-- Each agent is in one or two teams; one lead per team. The admin is in no team.
INSERT INTO public.team_members (team_id, user_id, is_lead, joined_at) VALUES
    ('33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000002', true,  now() - interval '380 days'),
    ('33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000003', false, now() - interval '300 days'),
    ('33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000006', false, now() - interval '90 days'),
    ('33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000004', true,  now() - interval '360 days'),
    ('33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005', false, now() - interval '210 days'),
    ('33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000006', false, now() - interval '150 days'),
    ('33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000003', false, now() - interval '200 days'),
    ('33333333-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000007', true,  now() - interval '340 days'),
    ('33333333-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000008', false, now() - interval '120 days')
ON CONFLICT DO NOTHING;

INSERT INTO public.agent_skills (user_id, skill_id, proficiency) VALUES
    -- Daniel Reyes (Billing lead)
    ('11111111-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000001', 5),
    ('11111111-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000002', 5),
    ('11111111-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000009', 3),
    -- Lena Vogel (Billing + Technical Support, German)
    ('11111111-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000001', 4),
    ('11111111-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000009', 5),
    ('11111111-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000011', 5),
    ('11111111-0000-4000-8000-000000000003', '44444444-0000-4000-8000-000000000003', 2),
    -- Priya Natarajan (Technical Support lead)
    ('11111111-0000-4000-8000-000000000004', '44444444-0000-4000-8000-000000000003', 5),
    ('11111111-0000-4000-8000-000000000004', '44444444-0000-4000-8000-000000000004', 5),
    ('11111111-0000-4000-8000-000000000004', '44444444-0000-4000-8000-000000000010', 4),
    ('11111111-0000-4000-8000-000000000004', '44444444-0000-4000-8000-000000000008', 3),
    -- Sam Whitfield (Technical Support)
    ('11111111-0000-4000-8000-000000000005', '44444444-0000-4000-8000-000000000010', 4),
    ('11111111-0000-4000-8000-000000000005', '44444444-0000-4000-8000-000000000008', 5),
    ('11111111-0000-4000-8000-000000000005', '44444444-0000-4000-8000-000000000009', 3),
    -- Camille Laurent (Technical Support + Billing, French)
    ('11111111-0000-4000-8000-000000000006', '44444444-0000-4000-8000-000000000012', 5),
    ('11111111-0000-4000-8000-000000000006', '44444444-0000-4000-8000-000000000010', 3),
    ('11111111-0000-4000-8000-000000000006', '44444444-0000-4000-8000-000000000003', 3),
    ('11111111-0000-4000-8000-000000000006', '44444444-0000-4000-8000-000000000001', 2),
    -- Kenji Watanabe (Integrations & API lead)
    ('11111111-0000-4000-8000-000000000007', '44444444-0000-4000-8000-000000000005', 5),
    ('11111111-0000-4000-8000-000000000007', '44444444-0000-4000-8000-000000000006', 5),
    ('11111111-0000-4000-8000-000000000007', '44444444-0000-4000-8000-000000000007', 4),
    -- Aisha Bello (Integrations & API)
    ('11111111-0000-4000-8000-000000000008', '44444444-0000-4000-8000-000000000007', 5),
    ('11111111-0000-4000-8000-000000000008', '44444444-0000-4000-8000-000000000005', 3),
    ('11111111-0000-4000-8000-000000000008', '44444444-0000-4000-8000-000000000010', 3)
ON CONFLICT DO NOTHING;

-- First matching rule (ascending position) wins; a missing key matches everything; the catch-all
-- at the last position sends the rest to Technical Support.
INSERT INTO public.routing_rules (id, name, position, conditions, team_id) VALUES
    ('55555555-0000-4000-8000-000000000001', 'Urgent incidents', 10,
     '{"priority": ["urgent"], "tags_any": ["outage", "data-loss", "security-incident"]}', '33333333-0000-4000-8000-000000000002'),
    ('55555555-0000-4000-8000-000000000002', 'Billing questions', 20,
     '{"category": ["billing"]}', '33333333-0000-4000-8000-000000000001'),
    ('55555555-0000-4000-8000-000000000003', 'Payment, refund and invoice tags', 30,
     '{"tags_any": ["refund", "invoice", "vat", "payment-failed", "plan-change"]}', '33333333-0000-4000-8000-000000000001'),
    ('55555555-0000-4000-8000-000000000004', 'API and integrations', 40,
     '{"category": ["api", "integrations"]}', '33333333-0000-4000-8000-000000000003'),
    ('55555555-0000-4000-8000-000000000005', 'Integration and API tags', 50,
     '{"tags_any": ["webhook", "api-key", "rate-limit", "slack", "github", "zapier", "google-calendar"]}', '33333333-0000-4000-8000-000000000003'),
    ('55555555-0000-4000-8000-000000000006', 'Sign-in, security and data requests', 60,
     '{"category": ["account-access", "security", "data-export"]}', '33333333-0000-4000-8000-000000000002'),
    ('55555555-0000-4000-8000-000000000007', 'German and French onboarding', 70,
     '{"category": ["getting-started"], "language": ["de", "fr"]}', '33333333-0000-4000-8000-000000000001'),
    ('55555555-0000-4000-8000-000000000008', 'Everything else', 80,
     '{}', '33333333-0000-4000-8000-000000000002')
ON CONFLICT DO NOTHING;

-- Must exist before the tickets: the tickets trigger looks the policy up by priority.
INSERT INTO public.sla_policies (id, name, priority, first_response_minutes, resolution_minutes) VALUES
    ('66666666-0000-4000-8000-000000000001', 'Low priority',    'low',    1440, 7200),
    ('66666666-0000-4000-8000-000000000002', 'Normal priority', 'normal',  480, 2880),
    ('66666666-0000-4000-8000-000000000003', 'High priority',   'high',    120, 1440),
    ('66666666-0000-4000-8000-000000000004', 'Urgent priority', 'urgent',   30,  240)
ON CONFLICT DO NOTHING;

-- Knowledge base ---------------------------------------------------------------------------------

INSERT INTO public.kb_categories (id, slug, name, description, position) VALUES
    ('77777777-0000-4000-8000-000000000001', 'getting-started', 'Getting started', 'Creating a workspace, inviting your team, roles and your first project.', 10),
    ('77777777-0000-4000-8000-000000000002', 'billing', 'Billing & plans', 'Plans and pricing, upgrades and downgrades, invoices, VAT, refunds and failed payments.', 20),
    ('77777777-0000-4000-8000-000000000003', 'account-access', 'Sign-in & SSO', 'Passwords, two-factor authentication, locked accounts, SAML single sign-on and SCIM.', 30),
    ('77777777-0000-4000-8000-000000000004', 'integrations', 'Integrations', 'Connecting Flowdesk to Slack, GitHub, Zapier, Google Calendar and more.', 40),
    ('77777777-0000-4000-8000-000000000005', 'api', 'API & webhooks', 'The REST API: keys, rate limits, pagination and webhooks.', 50),
    ('77777777-0000-4000-8000-000000000006', 'data-export', 'Data export & privacy', 'CSV and full workspace exports, GDPR erasure and workspace deletion.', 60),
    ('77777777-0000-4000-8000-000000000007', 'troubleshooting', 'Troubleshooting', 'Notifications, sync problems, performance and browser support.', 70),
    ('77777777-0000-4000-8000-000000000008', 'security', 'Security & compliance', 'How Flowdesk protects your data: encryption, compliance reports, audit log.', 80)
ON CONFLICT DO NOTHING;

-- Articles. Bodies are Markdown; content_hash stays NULL (ingestion computes it and the chunks).
-- Status: published unless noted (2 draft, 1 review, 1 archived); visibility public unless noted
-- (3 internal: refund approval policy, escalation playbook, known-issues runbook).

-- getting-started ----------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000001', 'seed', 'getting-started/quick-start', 'Quick start: set up your Flowdesk workspace', 'quick-start',
 'Create a workspace, invite your team, start a project from a template and pick the right view in about ten minutes.',
 '77777777-0000-4000-8000-000000000001', 'en', '{onboarding,workspace,projects,invite}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000003', now() - interval '300 days', now() - interval '305 days',
$md$# Quick start: set up your Flowdesk workspace

This guide takes you from sign-up to a working project in about ten minutes. Every new workspace starts with a **14-day free trial of the Business plan**; no credit card is needed, and when the trial ends you stay on the Free plan unless you choose a paid one.

## 1. Create your workspace

1. Go to **app.flowdesk.io/signup** and sign up with your work email or with Google.
2. Choose a workspace name and URL (for example `acme.flowdesk.io`). You can change the name later, but the URL is permanent.
3. You become the workspace **Owner**. There is exactly one Owner per workspace; see *Roles and permissions* for what that means.

## 2. Invite your team

1. Open **Settings → Members → Invite**.
2. Enter email addresses (one per line) and pick a role: Admin, Member or Guest.
3. Invitations are valid for 7 days. You can resend or revoke them from the same page.

Guests are free and do not count as billable members, so invite clients and freelancers as Guests.

## 3. Create your first project

1. Click **New project** in the sidebar.
2. Start from a template (*Marketing campaign*, *Product roadmap*, *Client onboarding*, *Sprint board*) or from scratch.
3. Give the project a short **key**, such as `WEB` or `MKT`. Tasks are numbered with it (`WEB-142`), and integrations such as GitHub use the key to link work to tasks.

## 4. Pick a view

| View | Best for |
|------|----------|
| List | Triage and bulk edits |
| Board | Kanban-style workflows |
| Timeline | Planning dates and dependencies |
| Calendar | Deadlines and launches |

## Next steps

- Connect Slack or Google Calendar under **Settings → Integrations**.
- Install the mobile apps (iOS 16+ and Android 10+).
- Turn on two-factor authentication for your own account.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000002', 'seed', 'getting-started/roles-and-permissions', 'Roles and permissions: Owner, Admin, Member and Guest', 'roles-and-permissions',
 'What each workspace role can do, which roles are billed, and how to transfer workspace ownership.',
 '77777777-0000-4000-8000-000000000001', 'en', '{roles,permissions,guests,ownership,members}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000003', now() - interval '290 days', now() - interval '292 days',
$md$# Roles and permissions

Every person in a Flowdesk workspace has one of four roles. Owners, Admins and Members are **billable members**; Guests are free.

## What each role can do

| Permission | Owner | Admin | Member | Guest |
|------------|:-----:|:-----:|:------:|:-----:|
| Create projects and tasks | yes | yes | yes | only in invited projects |
| See all public projects | yes | yes | yes | no |
| Invite and remove members | yes | yes | no | no |
| Manage integrations and API keys | yes | yes | no | no |
| Configure SSO, 2FA enforcement, audit log | yes | yes | no | no |
| Manage billing and plan | yes | no | no | no |
| Full workspace export, delete workspace | yes | no | no | no |

## Guests

- Guests only see the projects they are invited to and cannot browse the member directory.
- Guests are available on paid plans (Team, Business, Enterprise) and never count as billable members.
- A Guest who needs access to more than three projects is usually better off as a Member.

## Changing someone's role

1. Open **Settings → Members**.
2. Click the role next to the person's name and choose a new one.
3. Changing a Guest into a Member or Admin adds a billable member; the charge is prorated (see *Upgrade, downgrade or change your plan*).

## Transferring ownership

Only the current Owner can transfer ownership:

1. Make sure the new Owner is already an Admin.
2. Go to **Settings → Workspace → Transfer ownership** and select them.
3. Confirm with your password (or SSO) and your 2FA code.

The previous Owner becomes an Admin. If the Owner has left your company and nobody can sign in as them, contact support from an Admin account; we verify the request with your billing contact before transferring ownership.
$md$)
ON CONFLICT DO NOTHING;

-- billing ------------------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000003', 'seed', 'billing/plans-and-pricing', 'Flowdesk plans and pricing', 'plans-and-pricing',
 'Free, Team ($12 monthly / $10 annually per member), Business ($24 / $20) and Enterprise (custom): what each plan includes.',
 '77777777-0000-4000-8000-000000000002', 'en', '{pricing,plans,free,team,business,enterprise,nonprofit,trial}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000002', now() - interval '200 days', now() - interval '210 days',
$md$# Flowdesk plans and pricing

Flowdesk is billed **per billable member** (Owners, Admins and Members). Guests are always free. Prices are in USD; EUR and GBP prices are shown at checkout.

## Plans at a glance

| | Free | Team | Business | Enterprise |
|---|---|---|---|---|
| Price, billed monthly | $0 | $12 per member / month | $24 per member / month | Custom |
| Price, billed annually | $0 | $10 per member / month ($120 / year) | $20 per member / month ($240 / year) | Custom, annual only |
| Members | up to 5 | unlimited | unlimited | from 50 |
| Projects | 3 | unlimited | unlimited | unlimited |
| Storage | 2 GB | 100 GB | 1 TB | unlimited |
| Guests | no | yes | yes | yes |
| Integrations | Slack, Google Calendar | all | all | all |
| API rate limit | 60 req/min | 300 req/min | 1,000 req/min | 3,000 req/min |
| SAML SSO | no | no | yes | yes |
| SCIM provisioning | no | no | no | yes |
| Audit log | no | no | 1 year | 3 years |
| Support | Help center, email | Email (normal priority) | Priority email and chat | Dedicated success manager, 99.9% uptime SLA |

## Free trial

New workspaces get a **14-day trial of Business**, no credit card required. At the end of the trial you choose a plan; if you do nothing, the workspace moves to Free. Projects beyond the Free limit become read-only, never deleted.

## Discounts

- **Annual billing** costs the same as ten months of monthly billing: two months free.
- **Nonprofits and schools** get 50% off Team and Business plans billed annually. Apply at flowdesk.io/nonprofit with proof of status; approval takes about 3 business days.

## How members are counted

You are billed for the number of billable members in the workspace. Adding a member mid-cycle is charged pro rata; removing one reduces the bill from the next billing period. See *Upgrade, downgrade or change your plan* for details.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000004', 'seed', 'billing/change-plan', 'Upgrade, downgrade or change your plan', 'change-plan',
 'Upgrades apply immediately with a prorated charge; downgrades take effect at the end of the current billing period.',
 '77777777-0000-4000-8000-000000000002', 'en', '{plan-change,upgrade,downgrade,proration,seats}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000002', now() - interval '190 days', now() - interval '195 days',
$md$# Upgrade, downgrade or change your plan

Only the workspace **Owner** can change the plan. Go to **Settings → Billing → Plan**.

## Upgrading (for example Team → Business)

1. Click **Change plan** and select the new plan.
2. Review the prorated amount shown on the confirmation screen.
3. Click **Upgrade now**.

The upgrade takes effect **immediately**. You are charged the difference for the rest of the current billing period, calculated to the day. Example: a 10-member workspace on Team monthly ($120 per month) that upgrades to Business monthly ($240 per month) halfway through the month pays about $60 at once, and $240 from the next renewal.

## Downgrading (for example Business → Team, or to Free)

1. Click **Change plan** and choose the lower plan.
2. Flowdesk lists the features you will lose (for example SAML SSO or the audit log).
3. Confirm.

Downgrades take effect **at the end of the current billing period**; you keep the higher plan until then and there is no partial refund. If you downgrade to Free with more than 5 members or more than 3 projects, extra projects become read-only and you must remove members before the period ends.

## Adding and removing members

- **Adding** a member charges a prorated amount on your next invoice.
- **Removing** a member lowers the bill from the next billing period. Unused time is not refunded.
- On annual plans, the member count is trued up each quarter: members added during the quarter are invoiced pro rata for the rest of the year.

## Switching between monthly and annual billing

See *Annual vs monthly billing*. Switching to annual happens immediately; switching to monthly happens at the annual renewal date.

## Cancelling

Cancelling is a downgrade to Free at the end of the billing period. Your data stays; nothing is deleted unless you delete the workspace.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000005', 'seed', 'billing/annual-vs-monthly', 'Annual vs monthly billing', 'annual-vs-monthly',
 'Annual billing costs two months less than monthly; you can switch to annual at any time and to monthly at renewal.',
 '77777777-0000-4000-8000-000000000002', 'en', '{annual,monthly,billing-cycle,discount,plan-change}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000003', now() - interval '185 days', now() - interval '186 days',
$md$# Annual vs monthly billing

Team and Business plans can be paid monthly or annually. Enterprise is annual only.

## Price comparison

| Plan | Monthly billing | Annual billing | You save per member per year |
|------|-----------------|----------------|------------------------------|
| Team | $12 / member / month ($144 / year) | $10 / member / month ($120 / year) | $24 |
| Business | $24 / member / month ($288 / year) | $20 / member / month ($240 / year) | $48 |

Annual billing is the same as **two months free**.

## Switching from monthly to annual

You can switch at any time:

1. Go to **Settings → Billing → Plan** (Owner only).
2. Click **Switch to annual billing**.
3. Confirm the amount.

The switch is immediate. The unused part of your current month is credited, and you are charged for twelve months from today. Example: an 8-member Team workspace pays 8 × $120 = $960 for the year, minus the credit for the remaining days of the month already paid.

## Switching from annual to monthly

The switch to monthly takes effect at your **next annual renewal**. Schedule it from the same page; until the renewal date nothing changes.

## Things to know

- Annual plans can be refunded in full within 30 days of purchase or renewal; see *Refund policy*.
- Members added to an annual plan are charged pro rata for the rest of the year at each quarterly true-up.
- Invoices for annual plans can be paid by bank transfer if you have 20 or more members on Business, or on Enterprise.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000006', 'seed', 'billing/refund-policy', 'Refund policy', 'refund-policy',
 'Annual plans: full refund within 30 days of purchase or renewal. Monthly plans are not refunded. Duplicate charges are always refunded; refunds take 5-10 business days.',
 '77777777-0000-4000-8000-000000000002', 'en', '{refund,cancellation,duplicate-charge,annual,monthly}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000002', now() - interval '180 days', now() - interval '182 days',
$md$# Refund policy

We want the refund rules to be simple and predictable.

## Annual plans

- If you cancel within **30 days** of the initial purchase or of a renewal, you get a **full refund** of that annual payment.
- After 30 days, annual payments are not refunded. The plan stays active until the end of the paid term and then moves to Free.

## Monthly plans

- Monthly payments are **not refunded**, including partial months.
- You can cancel at any time; the plan stays active until the end of the month you paid for.

## Charges we always refund

- **Duplicate charges** (the same invoice paid twice), in full.
- Charges made **after** you cancelled, if the cancellation was confirmed before the renewal date.
- Members you removed before the renewal but who were billed because of an error on our side.

## How to request a refund

1. Sign in as the workspace **Owner**.
2. Contact support from **Help → Contact support** and choose *Billing*, or email billing@flowdesk.io.
3. Include the invoice number (it starts with `FD-INV-`) and the reason.

We reply within one business day.

## When will I see the money?

Refunds go back to the original payment method. Card refunds typically appear within **5-10 business days**, depending on your bank. Bank-transfer refunds are sent within 5 business days to the account that paid the invoice.

## Downgrades are not refunds

Downgrading takes effect at the end of the billing period and does not create a partial refund. See *Upgrade, downgrade or change your plan*.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000007', 'seed', 'billing/invoices', 'Download invoices and update billing details', 'invoices',
 'Find every invoice under Settings > Billing > Invoices; change the billing address, VAT ID and billing contacts for future invoices.',
 '77777777-0000-4000-8000-000000000002', 'en', '{invoice,receipt,billing-address,billing-contact,pdf}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000003', now() - interval '175 days', now() - interval '176 days',
$md$# Download invoices and update billing details

## Downloading an invoice

1. Sign in as the **Owner** (or as a person added as a *billing contact*).
2. Open **Settings → Billing → Invoices**.
3. Click an invoice number (format `FD-INV-` followed by six digits, for example `FD-INV-004417`) to download the PDF.

Invoices are issued on each billing date and also emailed to every billing contact. Receipts for card payments are attached to the same email.

## Adding billing contacts

Billing contacts receive invoices, receipts and payment-failure emails without needing access to the billing page.

1. Go to **Settings → Billing → Billing contacts**.
2. Add up to 5 email addresses. They do not need to be workspace members.

## Changing company name, address or VAT ID

1. Go to **Settings → Billing → Billing details**.
2. Update the legal company name, address, or VAT/tax ID.
3. Click **Save**.

Changes apply to **future invoices only**.

## Correcting a past invoice

If an invoice shows the wrong company name, address or VAT ID, we can **re-issue it once, within 90 days of the invoice date**:

- Update your billing details first (see above).
- Contact billing@flowdesk.io with the invoice number.
- We void the original and send a corrected invoice with a new number within 2 business days.

If adding a VAT ID means the invoice should have been reverse-charged, the VAT amount is refunded; see *VAT and sales tax*.

## Payment methods

- Visa, Mastercard and American Express on all plans.
- Bank transfer (invoice payment, 30-day terms) on annual Business plans with 20 or more members and on Enterprise.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000008', 'seed', 'billing/failed-payments', 'What happens when a payment fails', 'failed-payments',
 'Failed card payments are retried 3, 5 and 7 days after the failure; after 14 days unpaid the workspace becomes read-only until paid. Nothing is deleted.',
 '77777777-0000-4000-8000-000000000002', 'en', '{payment-failed,card-declined,dunning,read-only}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000002', now() - interval '170 days', now() - interval '171 days',
$md$# What happens when a payment fails

Cards get declined for ordinary reasons: an expired card, a new card number, a spending limit, or a bank blocking an international charge. Here is exactly what Flowdesk does.

## Timeline

| Day | What happens |
|-----|--------------|
| 0 | Payment fails. The Owner and billing contacts get an email, and Owners and Admins see a banner in the app. |
| 3 | First automatic retry. |
| 5 | Second automatic retry. |
| 7 | Third and last automatic retry. |
| 14 | If the invoice is still unpaid, the workspace becomes **read-only**. |

While the workspace is read-only, everyone can still sign in, view and export data, but nobody can create or edit tasks. **Nothing is deleted.** As soon as the invoice is paid, full access returns within a few minutes.

## How to fix it

1. Go to **Settings → Billing → Payment method** (Owner only).
2. Click **Update card** and enter the new card details.
3. Click **Pay now** on the open invoice. Do not wait for the next retry.

## Common reasons for a decline

- The card has expired or been replaced.
- Your bank requires 3-D Secure confirmation: complete the check in the pop-up or in your banking app.
- International or online transactions are disabled on the card. Flowdesk charges are processed in the United States for USD invoices and in Ireland for EUR and GBP invoices.
- A corporate card spending limit is lower than the invoice amount.

## Still failing?

Contact billing@flowdesk.io with your workspace URL. If you need a few more days, we can pause the read-only step once per year for up to 14 days.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000009', 'seed', 'billing/vat-and-taxes', 'VAT and sales tax', 'vat-and-taxes',
 'EU businesses with a valid VAT ID are reverse-charged; others pay their country''s VAT rate. UK VAT is 20%. US sales tax applies in some states.',
 '77777777-0000-4000-8000-000000000002', 'en', '{vat,tax,reverse-charge,invoice,eu,uk}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000003', now() - interval '165 days', now() - interval '166 days',
$md$# VAT and sales tax

Flowdesk adds tax to invoices according to the billing address and tax ID in **Settings → Billing → Billing details**.

## European Union

- **Business with a valid EU VAT ID:** no VAT is charged. The invoice says *Reverse charge: VAT to be accounted for by the recipient*. We validate VAT IDs against the EU VIES service when you save them.
- **Without a VAT ID:** VAT is charged at the rate of your country, for example 19% in Germany, 20% in France and 22% in Italy.

## United Kingdom

UK customers are charged **20% VAT**. Add your UK VAT number so it is printed on your invoices.

## United States

Sales tax is added for customers in states where software subscriptions are taxable, based on the billing address. Tax-exempt organisations can send their exemption certificate to billing@flowdesk.io.

## Rest of the world

No VAT or sales tax is added, except where local law requires it (for example in Australia, Norway and Switzerland, where GST/VAT is charged unless you provide a business number).

## Adding a VAT ID after you were charged VAT

1. Add the VAT ID in **Settings → Billing → Billing details**. It applies to future invoices.
2. For invoices issued in the last **90 days**, email billing@flowdesk.io with the invoice numbers.
3. We re-issue those invoices with the reverse charge and refund the VAT to the original payment method (5-10 business days).

Invoices older than 90 days cannot be re-issued.

## Why does my VAT ID show as invalid?

- Check the country prefix (for example `DE` or `FR`) and that there are no spaces.
- The VIES service is sometimes unavailable; try again later.
- Newly registered VAT IDs can take a few weeks to appear in VIES.
$md$)
ON CONFLICT DO NOTHING;

-- Internal: refund approvals.
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000010', 'seed', 'billing/internal-refund-approval', 'Internal: refund and credit approval policy', 'internal-refund-approval',
 'Who may approve which refunds and credits: agents up to $500, the Billing lead up to $2,000, above that the Head of Support with Finance.',
 '77777777-0000-4000-8000-000000000002', 'en', '{refund,credit,approval,internal,policy}', 'published', 'internal', 1,
 '11111111-0000-4000-8000-000000000001', now() - interval '150 days', now() - interval '151 days',
$md$# Internal: refund and credit approval policy

**Internal only: never quote this article or its limits to customers.** The public rules are in *Refund policy*.

## Approval limits

| Amount (per customer, rolling 12 months) | Who can approve |
|---|---|
| Up to $500 | Any Billing & Accounts agent |
| $500 to $2,000 | Billing team lead (Daniel Reyes) |
| Over $2,000, or any exception to the public policy | Head of Support (Maya Okafor) together with Finance |

## Always approved, no sign-off needed

- **Duplicate charges**: refund the duplicate in full, whatever the amount.
- Charges after a confirmed cancellation.
- Annual plans cancelled within 30 days of purchase or renewal (public policy).

## Goodwill credits

- After an incident listed on status.flowdesk.io, agents may offer a credit of up to **one month** of the affected workspace's subscription, applied to the next invoice.
- Credits, not refunds, are the default for goodwill gestures.

## How to process

1. Confirm the requester is the workspace Owner or a billing contact.
2. Check the payment in the billing console; note the invoice number (`FD-INV-…`).
3. Issue the refund or credit with the right reason code: `duplicate`, `cancellation`, `policy-30-day`, `goodwill`, `exception`.
4. Add an internal note on the ticket with the amount, reason code and approver, and tag the ticket `refund`.
5. Tell the customer that card refunds take 5-10 business days.

## Do not

- Promise a refund before it is approved.
- Refund monthly plans outside the cases above without lead approval.
- Refund to a different card or account than the one that paid.
$md$)
ON CONFLICT DO NOTHING;

-- Archived: the pre-2024 price list (kept for old invoices; must not be used to answer customers).
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000011', 'seed', 'billing/legacy-plans-2023', 'Legacy plans (before January 2024)', 'legacy-plans-2023',
 'The retired Starter and Pro plans. Archived: current prices are in "Flowdesk plans and pricing".',
 '77777777-0000-4000-8000-000000000002', 'en', '{pricing,legacy,starter,pro}', 'archived', 'public', 1,
 '11111111-0000-4000-8000-000000000002', now() - interval '700 days', now() - interval '720 days',
$md$# Legacy plans (before January 2024)

> This article is archived. The plans below are no longer sold. For current plans and prices see **Flowdesk plans and pricing**.

Before January 2024 Flowdesk offered two paid plans:

| Plan | Price | Members | Storage |
|------|-------|---------|---------|
| Starter | $8 per member / month | up to 15 | 20 GB |
| Pro | $15 per member / month | unlimited | 250 GB |

## What happened to these plans?

- Starter workspaces were moved to **Team** at their next renewal after January 2024.
- Pro workspaces were moved to **Business** at their next renewal after January 2024, with their legacy price kept for 12 months.

## Old invoices

Invoices issued under the legacy plans remain available under **Settings → Billing → Invoices** and still show the old plan names.

## Questions

If you believe you are still billed at a legacy price, contact billing@flowdesk.io with your workspace URL and the last invoice number.
$md$)
ON CONFLICT DO NOTHING;

-- account-access ----------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000012', 'seed', 'account-access/reset-password', 'Reset your password', 'reset-password',
 'Request a reset link from the sign-in page; it is valid for 60 minutes. Passwords need at least 12 characters. Not available when SSO is enforced.',
 '77777777-0000-4000-8000-000000000003', 'en', '{password,login,sign-in,reset}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '260 days', now() - interval '262 days',
$md$# Reset your password

## Request a reset link

1. Go to **app.flowdesk.io/login** and click **Forgot password?**
2. Enter the email address you use for Flowdesk.
3. Open the email from `no-reply@flowdesk.io` and click **Reset password**.
4. Choose a new password and sign in.

The reset link is valid for **60 minutes** and can be used once. Requesting a new link invalidates the previous one.

## Password requirements

- At least **12 characters**.
- Not one of the most common leaked passwords (we check against a breached-password list).
- Not the same as your last 5 passwords.

A password manager is the easiest way to meet these rules.

## The email does not arrive

- Wait a few minutes and check spam, junk and quarantine folders.
- Make sure you use the address your account was created with; if your company changed email domains, ask a workspace Admin which address is on your profile.
- Ask your IT team to allowlist `no-reply@flowdesk.io` and `notifications@flowdesk.io`.

## Your workspace uses single sign-on

If your Admin has **enforced SAML SSO**, Flowdesk does not store a password for you and the reset email is not sent. Sign in with **Continue with SSO** and reset your password with your identity provider (Okta, Microsoft Entra ID, Google Workspace…). The workspace Owner keeps a password as a break-glass login.

## After resetting

All your other sessions are signed out, and API keys are **not** affected. If you did not request the reset yourself, turn on two-factor authentication and tell your workspace Admin.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000013', 'seed', 'account-access/saml-sso-setup', 'Set up SAML single sign-on with Okta or Microsoft Entra ID (Azure AD)', 'saml-sso-setup',
 'Configure SAML SSO (Business and Enterprise): ACS URL, Entity ID, attributes, testing, enforcing SSO and rotating certificates.',
 '77777777-0000-4000-8000-000000000003', 'en', '{sso,saml,okta,azure-ad,entra-id,security}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '240 days', now() - interval '245 days',
$md$# Set up SAML single sign-on

SAML SSO is available on the **Business** and **Enterprise** plans. You need to be a workspace Owner or Admin in Flowdesk and an administrator in your identity provider (IdP).

## Values for your identity provider

Find them in **Settings → Security → Single sign-on**:

| Setting | Value |
|---------|-------|
| ACS (Reply) URL | `https://app.flowdesk.io/sso/saml/acs` |
| Entity ID (Audience URI) | `https://app.flowdesk.io/sso/saml/metadata/<workspace-id>` |
| Name ID format | EmailAddress |
| Required attributes | `email`, `firstName`, `lastName` |
| Signature | SHA-256, signed response or signed assertion |

## Okta

1. In Okta, go to **Applications → Create App Integration → SAML 2.0**.
2. Paste the ACS URL into *Single sign-on URL* and the Entity ID into *Audience URI*.
3. Set *Name ID format* to EmailAddress and *Application username* to Email.
4. Add attribute statements `email`, `firstName`, `lastName` mapped to `user.email`, `user.firstName`, `user.lastName`.
5. Copy the **Metadata URL** from the *Sign On* tab.

## Microsoft Entra ID (Azure AD)

1. In Entra ID, go to **Enterprise applications → New application → Create your own application** (non-gallery).
2. Under **Single sign-on**, choose **SAML**.
3. Enter the Entity ID as *Identifier* and the ACS URL as *Reply URL*.
4. In *Attributes & Claims*, add `email`, `firstName` and `lastName` (from `user.mail`, `user.givenname`, `user.surname`).
5. Copy the **App Federation Metadata Url**.
6. Assign the users or groups who should have access.

## Finish in Flowdesk

1. Paste the metadata URL (or upload the XML) in **Settings → Security → Single sign-on**.
2. Click **Test connection** and sign in as a test user.
3. Turn on **Enforce SSO** once the test works. Members then sign in only through the IdP; the Owner keeps a password with 2FA as a break-glass login.

New users are created on first sign-in (just-in-time provisioning). Automatic deprovisioning needs SCIM (Enterprise).

## Certificate rotation

Flowdesk accepts **two signing certificates at once**. Before activating a new certificate in your IdP, upload it under **Single sign-on → Certificates**; remove the old one afterwards. If users see *SAML response signature invalid*, the IdP is signing with a certificate Flowdesk does not have yet.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000014', 'seed', 'account-access/two-factor-authentication', 'Two-factor authentication (2FA)', 'two-factor-authentication',
 'Turn on 2FA with an authenticator app or a security key, keep your 10 backup codes, and what to do if you lose your phone.',
 '77777777-0000-4000-8000-000000000003', 'en', '{2fa,mfa,totp,security-key,backup-codes,lost-device}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '230 days', now() - interval '232 days',
$md$# Two-factor authentication (2FA)

Two-factor authentication protects your account even if your password leaks. It is available on all plans.

## Turn on 2FA

1. Click your avatar and open **Profile → Security**.
2. Click **Enable two-factor authentication**.
3. Choose a method:
   - **Authenticator app** (Google Authenticator, 1Password, Authy, Microsoft Authenticator): scan the QR code and enter the 6-digit code.
   - **Security key** (YubiKey, Touch ID, Windows Hello, passkeys via WebAuthn).
4. Download or print your **10 backup codes**. Each code works once.

## Require 2FA for the whole workspace

On **Team, Business and Enterprise**, Owners and Admins can require 2FA: **Settings → Security → Require two-factor authentication**. Members without 2FA are asked to set it up at their next sign-in. When SAML SSO is enforced, 2FA is handled by your identity provider instead.

## Lost your phone or security key?

1. On the sign-in page, click **Use a backup code** and enter one of your backup codes.
2. Once signed in, go to **Profile → Security**, remove the lost device and set up the new one.
3. Generate a fresh set of backup codes.

**No backup codes?**

- **Members and Admins:** ask a workspace Owner or Admin to reset your 2FA from **Settings → Members → ⋯ → Reset 2FA**. You then set it up again at your next sign-in.
- **Owners:** contact support from your account email. For security we verify your identity (for example with the last four digits of the card on file and a video call), which takes up to **2 business days**. Support can never bypass this check, even for urgent requests.

## Tips

- Register two methods (an app and a security key) so losing one device does not lock you out.
- Store backup codes in your password manager, not in Flowdesk.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000015', 'seed', 'account-access/locked-account', 'My account is locked', 'locked-account',
 'After 10 failed sign-in attempts within 15 minutes an account is locked for 30 minutes; Admins can unlock it sooner.',
 '77777777-0000-4000-8000-000000000003', 'en', '{locked,login,sign-in,password,security}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '220 days', now() - interval '221 days',
$md$# My account is locked

To protect against password-guessing attacks, Flowdesk locks an account after **10 failed sign-in attempts within 15 minutes**. The lock lasts **30 minutes**, and you see the message *Too many sign-in attempts. Try again later.*

## Unlock it

You have three options:

1. **Wait 30 minutes.** The lock lifts automatically; then sign in with the correct password.
2. **Reset your password.** A successful password reset (see *Reset your password*) also removes the lock.
3. **Ask a workspace Admin.** Admins and Owners can unlock you right away from **Settings → Members → ⋯ → Unlock account**.

If you are the only Owner and Admin, contact support from your account email address; we verify your identity before unlocking.

## Why did it happen?

- An old password saved in a browser, the mobile app or a password manager keeps retrying.
- Caps Lock or a different keyboard layout.
- Someone else tried to sign in with your email address. If you did not cause the failed attempts, reset your password and turn on two-factor authentication.

Failed attempts are listed in **Profile → Security → Recent activity** with the time, IP address and device. On Business and Enterprise, Admins also see them in the audit log.

## SSO users

If your workspace enforces SAML SSO, the lock is managed by your identity provider, not by Flowdesk. Ask your IT team to unlock you in Okta, Microsoft Entra ID or Google Workspace.

## API keys are not affected

Locks apply to interactive sign-ins only. API keys keep working; they are revoked only when an Admin revokes them.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000016', 'seed', 'account-access/scim-provisioning', 'Provision users automatically with SCIM', 'scim-provisioning',
 'SCIM 2.0 provisioning (Enterprise): base URL, token, what is synced, and how deprovisioning works.',
 '77777777-0000-4000-8000-000000000003', 'en', '{scim,provisioning,deprovisioning,sso,okta,azure-ad,enterprise}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '160 days', now() - interval '162 days',
$md$# Provision users automatically with SCIM

SCIM lets your identity provider create, update and deactivate Flowdesk members automatically. It is available on the **Enterprise** plan and requires SAML SSO to be configured first (see *Set up SAML single sign-on*).

## Connection details

| Setting | Value |
|---------|-------|
| SCIM base URL | `https://api.flowdesk.io/scim/v2` |
| Authentication | Bearer token, created in **Settings → Security → SCIM** |
| Supported resources | Users, Groups |

The token is shown once. Creating a new token revokes the previous one after 24 hours, so you can rotate without downtime.

## Setup in Okta or Microsoft Entra ID

1. Open the Flowdesk SAML app you created for SSO.
2. Enable **Provisioning** and choose SCIM 2.0.
3. Enter the base URL and token, then click **Test connection**.
4. Turn on *Create users*, *Update user attributes* and *Deactivate users*.
5. Assign users and groups.

## What is synced

- Email, first name, last name and active status.
- Groups pushed from the IdP become **Flowdesk groups**, which you can add to projects.
- Roles are not synced: new users join as **Members**. Change roles in Flowdesk.

## Deprovisioning

When a user is unassigned or deactivated in the IdP, Flowdesk:

1. Signs them out everywhere and blocks sign-in immediately.
2. Marks them as *Deactivated*; their tasks and comments stay.
3. Stops counting them as a billable member from the next billing period.

Reactivating the user in the IdP restores their access and project memberships.

## Troubleshooting

- **401 errors in the IdP log:** the token was rotated or revoked; paste the new token.
- **409 conflict on create:** a member with that email already exists; the IdP links to it on the next sync.
- Provisioning events appear in the audit log under *SCIM*.
$md$)
ON CONFLICT DO NOTHING;

-- integrations -------------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000017', 'seed', 'integrations/slack', 'Connect Flowdesk to Slack', 'slack',
 'Post project updates to Slack channels, create tasks with /flowdesk, unfurl task links; private channels need /invite @Flowdesk.',
 '77777777-0000-4000-8000-000000000004', 'en', '{slack,notifications,integrations,channels}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000008', now() - interval '210 days', now() - interval '212 days',
$md$# Connect Flowdesk to Slack

The Slack integration is available on **all plans**, including Free.

## What it does

- Posts updates from a project (new tasks, status changes, comments, due dates) to a Slack channel.
- Lets anyone in Slack create a task with `/flowdesk create <title>`.
- Shows a preview when someone pastes a Flowdesk task link (unfurling).
- Sends personal notifications (mentions, assignments) as Slack direct messages, if each user turns them on.

## Connect your Slack workspace

1. In Flowdesk, open **Settings → Integrations → Slack** (Owner or Admin).
2. Click **Connect to Slack** and approve the Flowdesk app. If your Slack workspace requires app approval, a Slack admin must approve it first.
3. Back in Flowdesk, open a project and choose **⋯ → Integrations → Slack → Add channel**.
4. Pick the channel and the events to post.

Each project can post to up to 5 channels.

## Private channels

The Flowdesk app cannot see private channels until it is a member. In the private channel, type:

```
/invite @Flowdesk
```

then pick the channel again in the project settings. **If you convert a public channel to private**, notifications stop until you invite `@Flowdesk` to it.

## Personal notifications in Slack

Each user goes to **Profile → Notifications → Slack** and clicks **Link my Slack account**.

## Troubleshooting

| Symptom | Fix |
|---------|-----|
| Notifications stopped after renaming a channel | Renaming is fine; check whether the channel was archived or made private. |
| `/flowdesk` says "account not linked" | Link your account under Profile → Notifications → Slack. |
| Nothing posts at all | Reconnect under Settings → Integrations → Slack; the Slack token may have been revoked by a Slack admin. |

Disconnecting Slack removes all channel connections in every project.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000018', 'seed', 'integrations/github', 'Link GitHub pull requests and commits to tasks', 'github',
 'Install the Flowdesk GitHub App and mention a task key such as WEB-142 in a branch, PR title or commit to link it; merged PRs can move tasks to Done.',
 '77777777-0000-4000-8000-000000000004', 'en', '{github,pull-requests,commits,developers,integrations}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000007', now() - interval '205 days', now() - interval '206 days',
$md$# Link GitHub pull requests and commits to tasks

The GitHub integration is available on **Team, Business and Enterprise**. It works with GitHub.com and GitHub Enterprise Cloud.

## Install

1. In Flowdesk, open **Settings → Integrations → GitHub** (Owner or Admin).
2. Click **Install GitHub App** and choose the GitHub organisation.
3. Select *All repositories* or only the repositories you want.
4. Back in Flowdesk, each member can click **Link my GitHub account** so their commits show their Flowdesk name.

## Link work to a task

Mention the task key in **any** of these places:

- the **branch name**: `feature/WEB-142-login-page`
- the **pull request title**: `WEB-142: new login page`
- a **commit message**: `Fix redirect loop (WEB-142)`

A task key is the project key, a **hyphen**, and the task number. Keys are not case-sensitive (`web-142` works), but the hyphen is required: `WEB142` or `web142` will **not** be linked.

## What you see in Flowdesk

- The task shows a **Development** panel with linked branches, PRs (open, merged, closed), and CI status.
- Comments on the task are not copied to GitHub, and GitHub review comments are not copied to Flowdesk.

## Automations

In **Project → ⋯ → Integrations → GitHub** you can choose:

| When | Then (default) |
|------|----------------|
| A PR is opened | Move task to *In review* |
| A PR is merged | Move task to *Done* |
| A PR is closed without merging | Do nothing |

## Troubleshooting

- **PR not linked:** check the key format (hyphen!) and that the repository is included in the GitHub App's repository access. Editing the PR title re-triggers linking.
- **Old PRs:** only events after installation are linked; existing PRs link when they are next updated.
- **Organisation approval pending:** a GitHub organisation owner must approve the app.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000019', 'seed', 'integrations/zapier', 'Automate Flowdesk with Zapier', 'zapier',
 'Zapier triggers (new task, task completed, new comment, task moved) and actions (create/update task, add comment, find task); Zaps use an API key and count toward the API rate limit.',
 '77777777-0000-4000-8000-000000000004', 'en', '{zapier,automation,no-code,integrations,api-key}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000008', now() - interval '195 days', now() - interval '197 days',
$md$# Automate Flowdesk with Zapier

Zapier connects Flowdesk to thousands of other apps without code. It is available on **Team, Business and Enterprise**.

## Connect your account

1. Create an API key in Flowdesk: **Settings → API → Create key**, with the *read* and *write* scopes (see *Create and manage API keys*).
2. In Zapier, create a Zap and search for **Flowdesk**.
3. When asked to sign in, paste the API key.

## Triggers

| Trigger | Fires when |
|---------|-----------|
| New task | A task is created in the chosen project |
| Task completed | A task is marked complete |
| New comment | Someone comments on a task |
| Task moved to section | A task changes section or board column |

Triggers are delivered instantly through webhooks, not by polling.

## Actions

- **Create task**: title, description, assignee, due date, section and custom fields.
- **Update task**: change any field of an existing task.
- **Add comment** to a task.
- **Find task** by key (for example `MKT-87`) or by title.

## Popular Zaps

- New Typeform or Google Forms response → Create task in *Client onboarding*.
- Task completed in *Invoices* → Create invoice in QuickBooks.
- New Gmail email with a label → Create task.

## Limits and good practice

- Every Zap step that calls Flowdesk is an **API request** and counts toward your workspace's API rate limit (Team: 300 requests per minute). Large Zaps that loop over many items can hit it; see *API rate limits*.
- If a Zap returns `401 Unauthorized`, the API key was revoked or its creator left the workspace. Create a new key and reconnect.
- Use a dedicated key named "Zapier" so you can rotate it without breaking other integrations.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000020', 'seed', 'integrations/google-calendar', 'Sync tasks with Google Calendar', 'google-calendar',
 'Two-way sync of tasks with due dates to a Google Calendar: Flowdesk changes appear within 5 minutes, calendar changes within 15 minutes. Duplicates come from also subscribing to the iCal feed.',
 '77777777-0000-4000-8000-000000000004', 'en', '{google-calendar,calendar,sync,due-dates,integrations}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000008', now() - interval '190 days', now() - interval '191 days',
$md$# Sync tasks with Google Calendar

Google Calendar sync is available on **all plans**. Each member connects their own Google account.

## Turn on the sync

1. Go to **Profile → Integrations → Google Calendar** and click **Connect**.
2. Sign in with Google and allow access to your calendars.
3. Choose what to sync:
   - *Tasks assigned to me* (default), or
   - *All tasks in selected projects*.
4. Choose the target calendar. We recommend letting Flowdesk create a dedicated calendar called **Flowdesk**.

## How the sync works

- Tasks with a **due date** become all-day events; tasks with a due date **and time** become 30-minute events.
- It is **two-way**: moving the event in Google Calendar changes the task's due date.
- Changes in Flowdesk appear in Google Calendar within **5 minutes**; changes made in Google Calendar reach Flowdesk within **15 minutes**.
- Completing a task removes the event (or marks it "✓" if you chose *Keep completed tasks*).

## Seeing every task twice?

Duplicates almost always mean two connections show the same tasks:

1. The **Google Calendar sync** (above), **and**
2. An **iCal feed subscription** (the read-only `webcal://` link from **Project → ⋯ → Calendar feed**).

Keep one of them. To remove the feed, in Google Calendar open **Other calendars**, find the Flowdesk feed and click **Unsubscribe**.

Duplicates can also appear if two teammates share their *Flowdesk* calendars with each other and both sync *All tasks in selected projects*.

## Disconnecting

**Profile → Integrations → Google Calendar → Disconnect** stops the sync. Choose whether to delete the events Flowdesk created or keep them as plain calendar events.

## Not syncing?

- Check the status under **Profile → Integrations**; *Needs reconnection* means Google revoked access (for example after a password change). Click **Reconnect**.
- Google Workspace admins can block third-party calendar access; ask them to allow the Flowdesk app.
$md$)
ON CONFLICT DO NOTHING;

-- Draft: Microsoft Teams integration (beta, not announced yet).
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000021', 'seed', 'integrations/microsoft-teams', 'Connect Flowdesk to Microsoft Teams (beta)', 'microsoft-teams',
 'Draft for the upcoming Microsoft Teams integration: channel notifications and a Flowdesk tab.',
 '77777777-0000-4000-8000-000000000004', 'en', '{microsoft-teams,notifications,integrations,beta}', 'draft', 'public', 1,
 '11111111-0000-4000-8000-000000000008', NULL, now() - interval '12 days',
$md$# Connect Flowdesk to Microsoft Teams (beta)

> Draft: the integration is in private beta. Do not share this article with customers until the launch.

The Microsoft Teams integration will be available on **Team, Business and Enterprise**.

## What it does

- Posts project updates (new tasks, status changes, comments) to a Teams channel.
- Adds a **Flowdesk tab** to a channel showing a project's Board or List view.
- Sends personal notifications for mentions and assignments in the Teams activity feed.

## Connect

1. A Microsoft 365 admin approves the **Flowdesk** app in the Teams admin center.
2. In Flowdesk, open **Settings → Integrations → Microsoft Teams** and click **Connect**.
3. In a project, choose **⋯ → Integrations → Microsoft Teams → Add channel**, then pick the team and channel.

## Known limitations in the beta

- Private and shared channels are not supported yet.
- Creating tasks from Teams messages is planned after launch.
- Government clouds (GCC, GCC High) are not supported.

## Feedback

Beta customers can send feedback to the Integrations & API team through their usual support channel, with the tag `teams-beta`.
$md$)
ON CONFLICT DO NOTHING;

-- api ----------------------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000022', 'seed', 'api/api-keys', 'Create and manage API keys', 'api-keys',
 'API keys (fd_live_ / fd_test_) are created by Admins under Settings > API, shown once, scoped read/write/admin; rotate by creating a new key before revoking the old one.',
 '77777777-0000-4000-8000-000000000005', 'en', '{api-key,authentication,api,security,rotation}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000007', now() - interval '250 days', now() - interval '251 days',
$md$# Create and manage API keys

The Flowdesk REST API lives at `https://api.flowdesk.io/v2`. Every request is authenticated with an API key sent as a bearer token.

## Create a key

1. Go to **Settings → API → Create key** (Owners and Admins only).
2. Give the key a descriptive name, such as "Zapier" or "Data warehouse sync".
3. Choose the scopes:
   - `read`: read projects, tasks, comments and members
   - `write`: create and update projects, tasks and comments
   - `admin`: manage members, webhooks and workspace settings
4. Click **Create** and copy the key. **It is shown only once.**

Keys look like this:

| Prefix | Environment |
|--------|-------------|
| `fd_live_` | Your real workspace |
| `fd_test_` | Your sandbox workspace (Business and Enterprise) |

A workspace can have up to **20 active keys**.

## Use a key

```bash
curl https://api.flowdesk.io/v2/projects \
  -H "Authorization: Bearer fd_live_xxxxxxxxxxxxxxxxxxxx"
```

A missing or invalid key returns `401 Unauthorized`; a key without the required scope returns `403 Forbidden`.

## Rotate a key without downtime

1. Create a new key with the same scopes.
2. Deploy it to your application or integration.
3. Check **Last used** on the old key; once it stops changing, click **Revoke**.

Revoking is immediate and cannot be undone.

## Keep keys safe

- Never put keys in front-end code or public repositories. Flowdesk is a GitHub secret-scanning partner: keys found in public repositories are **revoked automatically** and the Owner is emailed.
- Keys belong to the workspace, not to a person, but each shows who created it. Review keys when people leave.
- All keys of a workspace share the same rate limit; see *API rate limits*.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000023', 'seed', 'api/rate-limits', 'API rate limits', 'rate-limits',
 'Per-workspace limits per minute: Free 60, Team 300, Business 1,000, Enterprise 3,000; X-RateLimit-* headers; 429 with Retry-After; batch endpoint counts as one request.',
 '77777777-0000-4000-8000-000000000005', 'en', '{rate-limit,api,429,throttling,batch}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000007', now() - interval '245 days', now() - interval '246 days',
$md$# API rate limits

Rate limits protect the API for everyone. They apply **per workspace**: all API keys, Zapier Zaps and scripts of a workspace share one budget.

## Limits by plan

| Plan | Requests per minute |
|------|---------------------|
| Free | 60 |
| Team | 300 |
| Business | 1,000 |
| Enterprise | 3,000 (can be raised on request) |

In addition, a single API key may send at most **20 requests per second**, whatever the plan.

## Response headers

Every response includes:

| Header | Meaning |
|--------|---------|
| `X-RateLimit-Limit` | Requests allowed per minute for your workspace |
| `X-RateLimit-Remaining` | Requests left in the current window |
| `X-RateLimit-Reset` | Unix timestamp (seconds) when the window resets |

## When you exceed the limit

The API answers `429 Too Many Requests` with a `Retry-After` header giving the number of seconds to wait:

```http
HTTP/1.1 429 Too Many Requests
Retry-After: 12
X-RateLimit-Limit: 1000
X-RateLimit-Remaining: 0
X-RateLimit-Reset: 1735689600
```

Requests rejected with 429 still count toward the limit, so retrying immediately makes things worse.

## How to stay under the limit

1. **Honour `Retry-After`** and back off exponentially (1 s, 2 s, 4 s… with jitter) on repeated 429s.
2. **Batch writes**: `POST /v2/tasks/batch` creates or updates up to **100 tasks** in one request, and counts as **one** request.
3. **Use webhooks instead of polling** for changes (see *Webhooks*).
4. **Paginate with `limit=200`** rather than many small pages (see *Pagination*).
5. Cache data that rarely changes, such as projects and members.

## Need more?

Enterprise workspaces can request a higher limit through their success manager. On other plans, upgrading raises the limit immediately.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000024', 'seed', 'api/webhooks', 'Webhooks: events, signatures and retries', 'webhooks',
 'Receive events over HTTPS; verify the Flowdesk-Signature HMAC-SHA256 header over the raw body; respond 2xx within 10 seconds; up to 8 attempts over 24 hours.',
 '77777777-0000-4000-8000-000000000005', 'en', '{webhook,signature,hmac,events,retries,api}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000007', now() - interval '240 days', now() - interval '241 days',
$md$# Webhooks: events, signatures and retries

Webhooks push events to your server as they happen, so you do not need to poll the API.

## Create an endpoint

1. Go to **Settings → API → Webhooks → Add endpoint** (Owners and Admins).
2. Enter an **HTTPS** URL and choose the events.
3. Copy the **signing secret** (it starts with `whsec_`).

A workspace can have up to **25 endpoints**.

## Events

`task.created`, `task.updated`, `task.completed`, `task.deleted`, `comment.created`, `project.created`, `project.archived`, `member.added`, `member.removed`.

Each delivery is a `POST` with a JSON body containing `id`, `type`, `created_at` and `data`.

## Verify the signature

Every delivery has a `Flowdesk-Signature` header:

```
Flowdesk-Signature: t=1735689600,v1=5f2b6c…
```

To verify it:

1. Take `t` (a Unix timestamp) and the **raw request body**, exactly as received, before any JSON parsing.
2. Compute `HMAC-SHA256(secret, t + "." + raw_body)` and hex-encode it.
3. Compare with `v1` using a constant-time comparison.
4. Reject deliveries whose `t` is more than **5 minutes** old.

```python
import hashlib, hmac, time

def verify(secret: str, header: str, raw_body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(","))
    signed = parts["t"].encode() + b"." + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(parts["t"])) <= 300
    return fresh and hmac.compare_digest(expected, parts["v1"])
```

The most common cause of signature mismatches is verifying a **re-serialised** body (for example `json.dumps(request.json)`) instead of the raw bytes.

## Retries

- Respond with any **2xx** status within **10 seconds**. Do slow work asynchronously.
- Failed deliveries are retried up to **8 attempts over 24 hours** with exponential backoff.
- Each event has a unique `Flowdesk-Event-Id` header; use it to ignore duplicates.
- After **50 consecutive failed events**, the endpoint is disabled and Admins are emailed. Re-enable it in **Settings → API → Webhooks**; you can replay events from the last 7 days there.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000025', 'seed', 'api/pagination', 'Pagination in the REST API', 'pagination',
 'List endpoints use cursor pagination: limit (default 50, max 200), has_more and next_cursor; cursors expire after 24 hours.',
 '77777777-0000-4000-8000-000000000005', 'en', '{pagination,cursor,api,limit}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000007', now() - interval '235 days', now() - interval '236 days',
$md$# Pagination in the REST API

All list endpoints (`/v2/tasks`, `/v2/projects`, `/v2/comments`, `/v2/members`…) return results in pages using **cursor-based pagination**.

## Parameters

| Parameter | Default | Maximum | Description |
|-----------|---------|---------|-------------|
| `limit` | 50 | 200 | Number of items per page |
| `cursor` | – | – | The `next_cursor` value from the previous page |

## Response format

```json
{
  "data": [ { "id": "tsk_01H…", "key": "WEB-142", "title": "New login page" } ],
  "has_more": true,
  "next_cursor": "eyJpZCI6InRza18wMUgifQ"
}
```

## Fetching everything

1. Call the endpoint with `limit=200`.
2. While `has_more` is `true`, call it again with `cursor=<next_cursor>`.
3. Stop when `has_more` is `false`.

```bash
curl "https://api.flowdesk.io/v2/tasks?project=WEB&limit=200" \
  -H "Authorization: Bearer $FLOWDESK_API_KEY"

curl "https://api.flowdesk.io/v2/tasks?project=WEB&limit=200&cursor=eyJpZCI6InRza18wMUgifQ" \
  -H "Authorization: Bearer $FLOWDESK_API_KEY"
```

## Things to know

- Results are ordered by creation time, oldest first, and the order is stable while you page: new items are added at the end.
- Cursors **expire after 24 hours**. An expired cursor returns `400` with the error code `cursor_expired`; start again from the first page.
- Keep the same filters on every page; changing filters with an old cursor returns `400 invalid_cursor`.
- `offset` and `page` parameters are not supported; they are ignored.
- Each page is one request for rate-limit purposes. Fetching 10,000 tasks with `limit=200` takes 50 requests.

For a full copy of your workspace, a **full account export** is usually faster than paging through the API; see *Export your whole workspace*.
$md$)
ON CONFLICT DO NOTHING;

-- data-export --------------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000026', 'seed', 'data-export/csv-export', 'Export a project to CSV', 'csv-export',
 'Export tasks of a project (up to 50,000) to CSV from the project menu; exports over 5,000 tasks are emailed as a link valid for 7 days.',
 '77777777-0000-4000-8000-000000000006', 'en', '{csv,export,projects,excel,data-export}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000005', now() - interval '225 days', now() - interval '226 days',
$md$# Export a project to CSV

CSV export is available on **all plans** to anyone who can see the project.

## Export a project

1. Open the project.
2. Click **⋯ → Export → CSV**.
3. Choose the columns and whether to include completed and archived tasks.
4. Click **Export**.

Exports of up to **5,000 tasks** download directly in your browser. Larger exports (up to **50,000 tasks**) are prepared in the background and **emailed** to you as a download link that is valid for **7 days**.

## What is included

- Task key, title, description (as plain text), section, status
- Assignee, creator, due date, start date, completion date
- Tags, priority and all custom fields
- Parent task key for subtasks

Comments and attachments are **not** included in CSV exports. To get them, use a full account export (see *Export your whole workspace*).

## Opening the file

The file is UTF-8 encoded with a comma separator.

- **Excel on Windows:** use **Data → From Text/CSV** and select *65001: Unicode (UTF-8)* so accented characters display correctly.
- **Numbers and Google Sheets** open the file directly.

## The download does not start

- **Safari:** the download can be blocked when pop-ups are blocked. Allow pop-ups for app.flowdesk.io in **Safari → Settings → Websites → Pop-up Windows**, or use the emailed link.
- Browser extensions that block downloads or scripts can interfere; try a private window.
- Projects with more than 50,000 tasks cannot be exported to CSV; filter the export (for example by date) or use a full account export.

## Exporting several projects

CSV export works one project at a time. For many projects, use the full account export or the API (`GET /v2/tasks` with pagination).
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000027', 'seed', 'data-export/full-account-export', 'Export your whole workspace', 'full-account-export',
 'Owners can export all workspace data (JSON + attachments, ZIP) from Settings > Workspace > Export data on paid plans; ready within 24 hours, link valid 7 days, one export per 24 hours.',
 '77777777-0000-4000-8000-000000000006', 'en', '{export,backup,json,attachments,data-export,owner}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000005', now() - interval '220 days', now() - interval '222 days',
$md$# Export your whole workspace

A full account export contains everything in your workspace. It is available to the workspace **Owner** on **Team, Business and Enterprise**. On Free, use CSV export per project.

## What the export contains

- `projects.json`, `tasks.json`, `comments.json`, `members.json`, `custom_fields.json`
- An `attachments/` folder with every uploaded file, organised by project
- `README.txt` describing the format

Everything is packed into one or more ZIP files of up to 10 GB each.

## Start an export

1. Sign in as the Owner.
2. Go to **Settings → Workspace → Export data**.
3. Choose whether to include attachments (large workspaces export much faster without them).
4. Click **Start export** and confirm with your password or SSO.

## Download

- Most exports are ready in under an hour; very large workspaces can take up to **24 hours**.
- When it is ready, the Owner receives an email with the download link.
- The link is valid for **7 days** and works only when signed in as the Owner.
- You can start **one full export every 24 hours**.

## The link has expired

Start a new export from the same page. Expired export files are deleted and cannot be restored.

## Importing into another tool

The JSON format is documented at developers.flowdesk.io/export-format. Task keys, dates (ISO 8601, UTC) and user emails are included so the data can be mapped to other tools.

## Security

- Export files are encrypted at rest and deleted 7 days after they are ready.
- Each export is recorded in the audit log (Business and Enterprise), with who started and downloaded it.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000028', 'seed', 'data-export/gdpr-deletion', 'GDPR: erasure requests and deleting your workspace', 'gdpr-deletion',
 'Erase a person''s personal data (completed within 30 days) or delete a whole workspace (30-day recovery window, backups purged within 90 days).',
 '77777777-0000-4000-8000-000000000006', 'en', '{gdpr,privacy,erasure,deletion,dpa,data-export}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000005', now() - interval '215 days', now() - interval '217 days',
$md$# GDPR: erasure requests and deleting your workspace

Flowdesk acts as a **data processor** for the content of your workspace; your organisation is the controller. Our Data Processing Agreement (DPA) is available in **Settings → Privacy**, pre-signed.

## Erasing one person's data

Use this when a former employee or a contact asks you to erase their personal data.

1. Remove the person from the workspace in **Settings → Members** (or deactivate them through SCIM).
2. Go to **Settings → Privacy → Erasure request** and enter their email address. Only Owners and Admins can do this. Alternatively, email privacy@flowdesk.io from an Owner or Admin account.
3. We confirm the request within 2 business days and complete it within **30 days**.

What erasure does:

- Deletes the person's profile, name, email, avatar and sign-in history.
- Keeps the tasks and comments they wrote (they belong to your organisation), now shown as written by **Former member**.
- Removes their name from the activity history.

If the comments themselves contain personal data that must go, delete or edit them before submitting the request.

## Deleting the whole workspace

1. Sign in as the Owner and export anything you want to keep (see *Export your whole workspace*).
2. Go to **Settings → Workspace → Delete workspace** and type the workspace name to confirm.
3. Any paid subscription is cancelled; no refund is issued except under the *Refund policy*.

The workspace can be **restored within 30 days** by contacting support. After 30 days, all data is permanently deleted; encrypted backups are purged within a further **90 days**.

## Requests from individuals

If someone contacts Flowdesk directly about data in your workspace, we forward the request to your workspace Owner, as required of a processor, and do not act on it ourselves.

## Personal account deletion

Individual users who are not a workspace Owner can delete their own Flowdesk account in **Profile → Account → Delete account**.
$md$)
ON CONFLICT DO NOTHING;

-- In review: scheduled exports (Enterprise feature, wording under review by Legal).
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000029', 'seed', 'data-export/scheduled-exports', 'Scheduled exports to Amazon S3 (Enterprise)', 'scheduled-exports',
 'Enterprise workspaces can deliver a nightly full export to their own S3 bucket.',
 '77777777-0000-4000-8000-000000000006', 'en', '{export,s3,backup,enterprise,data-export}', 'review', 'public', 1,
 '11111111-0000-4000-8000-000000000005', NULL, now() - interval '6 days',
$md$# Scheduled exports to Amazon S3 (Enterprise)

Enterprise workspaces can have Flowdesk deliver a full export to their own Amazon S3 bucket on a schedule, for backups or for loading into a data warehouse.

## Requirements

- Enterprise plan.
- An S3 bucket in any AWS region, and permission to create an IAM role in that AWS account.

## Set up

1. Go to **Settings → Workspace → Scheduled exports** and click **Add destination**.
2. Enter the bucket name and an optional prefix, such as `flowdesk/`.
3. Flowdesk shows an **IAM trust policy** with our AWS account ID and a unique external ID. Create a role with this trust policy and `s3:PutObject` permission on the bucket.
4. Paste the role ARN and click **Verify**. Flowdesk writes a small test file.
5. Choose a schedule: daily (at 02:00 in the workspace time zone) or weekly.

## What is delivered

The same JSON files as a manual full export (see *Export your whole workspace*), under `<prefix>/<yyyy-mm-dd>/`. Attachments are delivered incrementally: only files added since the previous export.

## Monitoring

- Each run is recorded in the audit log.
- If a run fails (for example because the role was deleted), Admins are emailed; after 3 consecutive failures the schedule is paused.

## Retention

Flowdesk does not delete anything in your bucket. Use S3 lifecycle rules to expire old exports.
$md$)
ON CONFLICT DO NOTHING;

-- troubleshooting ----------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000030', 'seed', 'troubleshooting/notifications-not-arriving', 'Notifications are not arriving', 'notifications-not-arriving',
 'Check notification settings and Do Not Disturb, allowlist notifications@flowdesk.io and mail.flowdesk.io, and allow browser and mobile push notifications.',
 '77777777-0000-4000-8000-000000000007', 'en', '{notifications,email,push,spam,troubleshooting}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000005', now() - interval '200 days', now() - interval '203 days',
$md$# Notifications are not arriving

Work through these checks in order; most problems are solved by the first three.

## 1. Check your notification settings

1. Open **Profile → Notifications**.
2. Make sure the events you expect (mentions, assignments, due dates, comments on tasks you follow) are on for the channel you expect: **email**, **desktop**, **mobile** or **Slack**.
3. Check the email frequency: *Instant* or *Daily digest*. With the digest, emails arrive once a day at 08:00 in your time zone.

## 2. Check Do Not Disturb

If **Do Not Disturb** is on (the moon icon next to your avatar), Flowdesk holds desktop and mobile notifications until it ends. Emails are still sent.

## 3. Email: check spam and allowlist our senders

- Look in spam, junk, *Promotions* and any quarantine portal.
- Ask your IT team to allowlist the sender `notifications@flowdesk.io` and the sending domain **mail.flowdesk.io**. Our messages pass SPF, DKIM and DMARC for this domain.
- Security gateways such as **Mimecast**, **Proofpoint** or Microsoft Defender sometimes hold or delay bulk notification email. Your IT team can release held messages and add a bypass policy for mail.flowdesk.io.

## 4. Desktop notifications

- Your browser must allow notifications for **app.flowdesk.io** (click the padlock in the address bar).
- On macOS and Windows, the browser itself must be allowed to show notifications in the system settings, and Focus / Focus assist must be off.

## 5. Mobile push notifications

- In the Flowdesk app, go to **Settings → Notifications** and make sure push is on.
- Allow notifications for Flowdesk in iOS or Android system settings.
- Sign out and back in to refresh the push token.

## You are not the one who should receive it

You only get notified about tasks you are assigned to, follow, or are mentioned in. Click **Follow** on a task to receive updates about it.

## Still missing?

Contact support with the **time** of an expected notification, the **task key**, and the email address. We can check our delivery logs for the last 30 days.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000031', 'seed', 'troubleshooting/sync-issues', 'Changes are not showing up (sync issues)', 'sync-issues',
 'Real-time updates use a WebSocket to realtime.flowdesk.io; proxies and firewalls that block it cause stale data. Check status.flowdesk.io, refresh, and allow wss://realtime.flowdesk.io.',
 '77777777-0000-4000-8000-000000000007', 'en', '{sync,realtime,websocket,offline,proxy,troubleshooting}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000006', now() - interval '195 days', now() - interval '196 days',
$md$# Changes are not showing up (sync issues)

Flowdesk updates in real time: when a teammate moves a task, you see it within a second or two. If you see stale data, a banner saying **Reconnecting…**, or changes that appear only after reloading, follow these steps.

## 1. Check for an incident

Open **status.flowdesk.io**. If there is an ongoing incident, updates may be delayed; subscribe on the status page to be notified when it is resolved.

## 2. Reload the page

Press **Ctrl+Shift+R** (Windows/Linux) or **Cmd+Shift+R** (macOS) to reload without the cache. If that fixes it only temporarily, continue.

## 3. Allow WebSocket connections

Real-time updates use a secure WebSocket to **wss://realtime.flowdesk.io** on port 443. Corporate proxies, VPNs and firewalls sometimes block or cut WebSockets. Ask your IT team to:

- allow `*.flowdesk.io` on port 443, including WebSocket upgrades;
- exclude `realtime.flowdesk.io` from TLS inspection;
- allow connections that stay open for several minutes.

Without WebSockets, Flowdesk falls back to checking for changes every 60 seconds, which is why updates can appear late.

## 4. Browser extensions

Ad blockers and privacy extensions can block the real-time connection. Test in a private window with extensions disabled.

## 5. Mobile apps and offline mode

The iOS and Android apps keep working offline. Changes you make offline show a small cloud icon and sync automatically when you are back online. If a change conflicts with a teammate's change to the same field, the **most recent change wins** and the other is kept in the task's activity history.

## 6. Integrations

For delays in Google Calendar, Slack or GitHub, see the article for that integration; they sync on their own schedule (for example, Google Calendar changes reach Flowdesk within 15 minutes).

## Contact support

Include your browser and version, whether you use a VPN or proxy, and a screenshot of **Help → Connection diagnostics**.
$md$)
ON CONFLICT DO NOTHING;

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000032', 'seed', 'troubleshooting/browser-support', 'Supported browsers and system requirements', 'browser-support',
 'Flowdesk supports the latest two major versions of Chrome, Firefox, Safari and Edge; iOS 16+ and Android 10+ apps. Internet Explorer is not supported.',
 '77777777-0000-4000-8000-000000000007', 'en', '{browser,safari,chrome,firefox,edge,performance,troubleshooting}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000006', now() - interval '190 days', now() - interval '192 days',
$md$# Supported browsers and system requirements

## Browsers

Flowdesk supports the **latest two major versions** of:

- Google Chrome
- Mozilla Firefox
- Apple Safari (macOS)
- Microsoft Edge

Other Chromium-based browsers (Brave, Arc, Opera) usually work but are not tested. **Internet Explorer is not supported.**

In older browsers, some features fail silently: for example, the **Board** and **Timeline** views may stay blank on Safari 15 and earlier.

## Desktop and mobile apps

| App | Requirement |
|-----|-------------|
| macOS desktop app | macOS 12 or later |
| Windows desktop app | Windows 10 or later |
| iOS app | iOS 16 or later |
| Android app | Android 10 or later |

On phones and tablets, use the apps: the web app is designed for screens at least 1024 pixels wide.

## Recommended hardware

- 8 GB of RAM for workspaces with very large projects (more than 10,000 tasks in one view).
- A stable connection of at least 2 Mbit/s.

## If Flowdesk feels slow

1. Update your browser to the latest version.
2. Close unused Flowdesk tabs: each tab keeps its own real-time connection.
3. In large projects, filter views (for example hide completed tasks) instead of showing everything.
4. Turn off browser extensions one at a time; grammar checkers and ad blockers are common causes.
5. Check **status.flowdesk.io** for incidents.

## Cookies and storage

Flowdesk needs cookies and local storage for app.flowdesk.io. Blocking third-party cookies is fine.

## Reporting a browser problem

Send support your browser name and exact version (from **Help → About your browser**), your operating system, and a screenshot or screen recording.
$md$)
ON CONFLICT DO NOTHING;

-- Internal: escalation playbook.
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000033', 'seed', 'troubleshooting/escalation-playbook', 'Internal: escalation playbook', 'escalation-playbook',
 'Severity levels, when and how to escalate to engineering, security, legal and the Head of Support, and the SLA targets per priority.',
 '77777777-0000-4000-8000-000000000007', 'en', '{escalation,incident,sev1,engineering,internal,sla}', 'published', 'internal', 1,
 '11111111-0000-4000-8000-000000000001', now() - interval '140 days', now() - interval '141 days',
$md$# Internal: escalation playbook

**Internal only.** How to escalate a ticket beyond the support team.

## SLA targets

| Priority | First response | Resolution |
|----------|----------------|------------|
| Urgent | 30 minutes | 4 hours |
| High | 2 hours | 1 day |
| Normal | 8 hours | 2 days |
| Low | 24 hours | 5 days |

## Severity levels

| Severity | Examples | Ticket priority |
|----------|----------|-----------------|
| SEV1 | Outage for many workspaces, data loss, security incident | Urgent |
| SEV2 | A major feature broken for one workspace (SSO, exports, API down for them) | High |
| SEV3 | Bug with a workaround, a single integration misbehaving | Normal |

## SEV1

1. Page the on-call engineer in PagerDuty (*Flowdesk Core*) and post in the `#incident` Slack channel.
2. Tag the ticket `outage` and link it to the incident (`INC-…`).
3. Reply to the customer within 30 minutes with the status page link (status.flowdesk.io); never guess a cause or an ETA.
4. The Technical Support lead coordinates customer updates at least every 60 minutes.
5. After the incident, send the public RCA when engineering publishes it.

## SEV2 and SEV3: engineering tickets

1. Reproduce the problem and collect: workspace URL, task keys, timestamps in UTC, browser and version, request IDs (`X-Request-Id` header) for API issues.
2. Create an issue in the Jira project **ENG** with the *Support escalation* template and link the ticket.
3. Put the ticket **on hold** and add an internal note with the ENG key.
4. Tell the customer what happens next and when you will update them (at least weekly for SEV3).

## Other escalations

- **Security** (suspected account takeover, vulnerability report): forward to security@flowdesk.io and the Technical Support lead immediately; do not discuss details with the reporter beyond acknowledging receipt.
- **Legal and compliance** (BAA, DPA changes, subpoenas, security questionnaires): create a LEGAL request and put the ticket on hold.
- **Enterprise customers**: always copy their success manager on SEV1 and SEV2.
- **Angry or churn-risk customers** (cancellation threats, public complaints): inform the Head of Support, Maya Okafor.
- **Refunds** above your approval limit: see *Internal: refund and credit approval policy*.
$md$)
ON CONFLICT DO NOTHING;

-- Internal: known issues runbook.
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000034', 'seed', 'troubleshooting/known-issues-runbook', 'Internal: known issues runbook', 'known-issues-runbook',
 'Current known issues with their engineering keys, how to recognise them and the workaround to give customers.',
 '77777777-0000-4000-8000-000000000007', 'en', '{known-issues,runbook,internal,scim,mimecast,google-calendar,safari}', 'published', 'internal', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '20 days', now() - interval '60 days',
$md$# Internal: known issues runbook

**Internal only.** Check this list before escalating; link tickets to the ENG key and tag them `known-issue`.

## 1. SCIM deprovisioning ignores Guests (ENG-4812)

- **Symptom:** users removed in Okta or Entra ID stay in Flowdesk when their role is *Guest*. Members and Admins are deprovisioned correctly.
- **Workaround:** an Admin removes the Guest manually in **Settings → Members**.
- **Status:** fix in progress, target next release. Put tickets on hold and update customers when it ships.

## 2. Notification emails delayed to Mimecast-protected domains

- **Symptom:** notification emails arrive hours late or not at all; nothing in spam; our delivery log shows *accepted* by the recipient's gateway.
- **Cause:** Mimecast's bulk-mail scoring holds our notifications.
- **Workaround:** the customer's IT team adds a *Permitted Senders* policy for `mail.flowdesk.io`. Check the SES suppression list for the customer's addresses in the mail console and remove them if listed.

## 3. Google Calendar duplicates

- **Symptom:** every task appears twice in Google Calendar.
- **Cause:** not a bug. The user has both the two-way sync **and** the iCal feed subscription.
- **Fix:** unsubscribe from the feed (see *Sync tasks with Google Calendar*).

## 4. Board view blank on old Safari

- **Symptom:** Board and Timeline views are empty on Safari 15 or earlier.
- **Cause:** unsupported browser.
- **Fix:** update Safari (or macOS) or use Chrome, Firefox or Edge (see *Supported browsers*).

## 5. Webhook signature mismatch after framework upgrade

- **Symptom:** signature checks start failing after a customer upgrades their web framework.
- **Cause:** the framework now parses JSON before the handler sees it, so the customer verifies a re-serialised body.
- **Fix:** verify against the raw request body (see *Webhooks*).

## Adding to this list

Only the Technical Support lead adds or removes entries. Remove an entry one week after its fix has shipped.
$md$)
ON CONFLICT DO NOTHING;

-- security -----------------------------------------------------------------------------------------

INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000035', 'seed', 'security/security-overview', 'Security and compliance at Flowdesk', 'security-overview',
 'SOC 2 Type II and ISO 27001, AES-256 at rest and TLS 1.2+ in transit, AWS hosting in the US and EU, daily backups, the trust center, DPA and BAA (Enterprise).',
 '77777777-0000-4000-8000-000000000008', 'en', '{security,compliance,soc2,iso27001,encryption,gdpr,hipaa,baa}', 'published', 'public', 1,
 '11111111-0000-4000-8000-000000000004', now() - interval '180 days', now() - interval '183 days',
$md$# Security and compliance at Flowdesk

## Certifications and reports

- **SOC 2 Type II**, audited every year by an independent firm.
- **ISO/IEC 27001** certified information security management system.
- Annual third-party **penetration tests**.

Business and Enterprise customers can download the SOC 2 report and the penetration test summary from our trust center at **trust.flowdesk.io** after accepting an NDA. Other customers can request a summary from support.

## Data protection

- **Encryption in transit:** TLS 1.2 or higher for every connection.
- **Encryption at rest:** AES-256 for databases, file storage and backups.
- **Hosting:** Amazon Web Services. US workspaces are hosted in `us-east-1` (Virginia). **EU data residency** in `eu-central-1` (Frankfurt) is available on Enterprise.
- **Backups:** daily, encrypted, retained for 30 days, and tested for restoration every quarter.

## Access controls for your workspace

| Control | Plans |
|---------|-------|
| Two-factor authentication | All plans |
| Require 2FA for everyone | Team, Business, Enterprise |
| SAML single sign-on | Business, Enterprise |
| SCIM provisioning | Enterprise |
| Audit log | Business (1 year), Enterprise (3 years) |

## Privacy and legal documents

- **DPA** (GDPR Data Processing Agreement): pre-signed, in **Settings → Privacy**.
- Our list of **sub-processors** is published at flowdesk.io/legal/subprocessors; we announce changes 30 days in advance.
- **HIPAA:** Flowdesk signs a Business Associate Agreement (BAA) on the **Enterprise** plan only. Do not store protected health information in a workspace without a signed BAA.

## Security questionnaires

Send questionnaires (CAIQ, SIG Lite, custom) through support. Business and Enterprise customers get an answer within 10 business days.

## Reporting a vulnerability

Email **security@flowdesk.io**. We acknowledge reports within 2 business days and run a private bug bounty; please do not test against other customers' workspaces.
$md$)
ON CONFLICT DO NOTHING;

-- Draft: audit log article, waiting for the new filters to ship.
INSERT INTO public.kb_articles (id, source, external_id, title, slug, summary, category_id, locale, tags, status, visibility, version, author_id, published_at, created_at, body) VALUES
('88888888-0000-4000-8000-000000000036', 'seed', 'security/audit-log', 'Use the audit log', 'audit-log',
 'Draft: what the audit log records, retention by plan (Business 1 year, Enterprise 3 years), filters and CSV export.',
 '77777777-0000-4000-8000-000000000008', 'en', '{audit-log,security,compliance,business,enterprise}', 'draft', 'public', 1,
 '11111111-0000-4000-8000-000000000004', NULL, now() - interval '4 days',
$md$# Use the audit log

The audit log records security-relevant activity in your workspace. It is available on **Business** (1 year of history) and **Enterprise** (3 years). Owners and Admins can open it in **Settings → Security → Audit log**.

## What is recorded

- Sign-ins, failed sign-ins, sign-outs and account locks
- SSO and SCIM configuration changes and SCIM provisioning events
- Members invited, removed, or changing role
- API keys created or revoked, webhook endpoints added or disabled
- Full workspace exports started and downloaded
- Project deletions and permission changes

Each entry shows the time (UTC), the actor, their IP address and user agent, and the affected object.

## Filtering

Filter by date range, actor, event type and IP address. Filters can be combined, and the URL can be bookmarked or shared with other Admins.

## Exporting

1. Apply the filters you need.
2. Click **Export CSV**. Up to 100,000 entries are exported.

Enterprise workspaces can also stream audit events to a SIEM (Splunk, Datadog, Microsoft Sentinel) through the API endpoint `GET /v2/audit-events`.

## Retention

Entries older than the plan's retention period are deleted automatically. Export them regularly if your policies require longer retention.
$md$)
ON CONFLICT DO NOTHING;

-- Tickets ----------------------------------------------------------------------------------------
--
-- created_at is relative to now(), spread over the last 30 days; ids are numbered in creation order.
-- SLA policy and due times are filled in by the tickets trigger, first_response_at by the
-- conversations trigger. `number` is an identity column and is never inserted.
--
-- The conversations trigger moves a pending or solved ticket back to open when a customer message is
-- inserted. So tickets whose final status is pending or solved are inserted as open, their thread is
-- inserted, and only then (and only for tickets this run actually inserted, remembered in a temporary
-- table) are they moved to their final status. Closed tickets are inserted closed (the trigger leaves
-- them alone) with resolved_at/closed_at set; solved ones get resolved_at with the final update.

DROP TABLE IF EXISTS pg_temp.seed_new_tickets;
CREATE TEMP TABLE seed_new_tickets (
    id            uuid PRIMARY KEY,
    final_status  ticket_status NOT NULL,
    resolved_at   timestamptz
) ON COMMIT DROP;

WITH src (id, customer_id, team_id, assignee_id, status, priority, channel, category, tags, language,
          age, resolved_after, closed_after, ai_analysis, subject, description) AS (VALUES
    -- T01 Grace Murphy: nonprofit discount (closed)
    ('99999999-0000-4000-8000-000000000001', '22222222-0000-4000-8000-000000000009', '33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000002',
     'closed', 'low', 'web', 'billing', '{nonprofit,discount,pricing}', 'en', '29 days', '3 days 10 minutes', '10 days 10 minutes',
     '{"intent": "pricing_question", "category": "billing", "sentiment": "positive", "language": "en", "suggested_priority": "low", "confidence": 0.94, "model": "seed"}',
     'Do you offer a discount for charities?',
$d$Hi,

We're a small community charity in Dublin (registered charity number 20041234), currently on the Free plan with 4 people. We'd like to move to the Team plan so we can add our volunteers as guests and have more than 3 projects, but our budget is very tight.

Do you have any discount for nonprofits?

Thanks,
Grace Murphy
Fernbrook Community Trust$d$),
    -- T02 Raj Patel: GDPR erasure of a former employee (closed)
    ('99999999-0000-4000-8000-000000000002', '22222222-0000-4000-8000-000000000008', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005',
     'closed', 'normal', 'email', 'data-export', '{gdpr,erasure,privacy}', 'en', '25 days', '4 days', '11 days',
     '{"intent": "gdpr_erasure", "category": "data-export", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.9, "model": "seed"}',
     'GDPR erasure request for a former employee',
$d$Hello,

One of our former store managers, Tom Hargreaves (tom.hargreaves@quantumretail.example), left the company last month and has asked us to erase his personal data under Article 17 GDPR. He still appears all over the task history in our workspace.

What is the process on your side, and will removing him delete the tasks he created? We need to confirm completion to him within the statutory deadline.

Regards,
Raj Patel
IT Operations, Quantum Retail$d$),
    -- T03 Marcus Johnson: locked out (closed)
    ('99999999-0000-4000-8000-000000000003', '22222222-0000-4000-8000-000000000002', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000006',
     'closed', 'high', 'chat', 'account-access', '{locked,login}', 'en', '20 days', '20 minutes', '7 days 20 minutes',
     '{"intent": "account_locked", "category": "account-access", "sentiment": "negative", "language": "en", "suggested_priority": "high", "confidence": 0.95, "model": "seed"}',
     'Locked out of my account before a board meeting',
$d$I can't log in, it says "Too many sign-in attempts. Try again later." I have a board meeting in an hour and need the logistics roadmap from Flowdesk. I'm one of the admins of the northwind workspace.$d$),
    -- T04 Sofia Rossi: blank Board view on old Safari (closed)
    ('99999999-0000-4000-8000-000000000004', '22222222-0000-4000-8000-000000000003', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005',
     'closed', 'normal', 'web', 'troubleshooting', '{safari,browser,board-view,known-issue}', 'en', '18 days', '1 day 1 hour', '8 days 1 hour',
     '{"intent": "bug_report", "category": "troubleshooting", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.81, "model": "seed"}',
     'Board view is blank for one of our architects',
$d$Hello,

One of our architects, Marco, sees an empty Board view in every project: the column headers appear for a second and then everything disappears. The List view works fine for him. He uses a 2017 iMac. Everyone else in the office is fine.

Sofia$d$),
    -- T05 Marcus Johnson: outage (closed, urgent)
    ('99999999-0000-4000-8000-000000000005', '22222222-0000-4000-8000-000000000002', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000004',
     'closed', 'urgent', 'chat', 'troubleshooting', '{outage,incident,sev1}', 'en', '14 days', '3 days', '10 days',
     '{"intent": "outage_report", "category": "troubleshooting", "sentiment": "very_negative", "language": "en", "suggested_priority": "urgent", "confidence": 0.98, "model": "seed"}',
     'URGENT: nobody can open projects (500 errors)',
$d$None of our 85 users can open any project since about 10 minutes ago. We get "Something went wrong (500)". Our dispatch teams depend on this, please help ASAP.$d$),
    -- T06 Hannah Kim: SOC 2 report and BAA (on hold, waiting for Legal)
    ('99999999-0000-4000-8000-000000000006', '22222222-0000-4000-8000-000000000007', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000004',
     'on_hold', 'normal', 'email', 'security', '{soc2,baa,compliance,legal}', 'en', '10 days', NULL, NULL,
     '{"intent": "compliance_documents", "category": "security", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.89, "model": "seed"}',
     'SOC 2 report and BAA for our Enterprise renewal',
$d$Hi team,

Our compliance office needs your latest SOC 2 Type II report and a signed BAA before we renew our Enterprise agreement next month. We also sent redlines to section 4 (breach notification) of your standard BAA through our account manager a while ago and have not heard back.

Can you help us track this?

Hannah Kim
IT & Compliance, Sunrise Health Clinics$d$),
    -- T07 Hannah Kim: SCIM deprovisioning ignores Guests (on hold, known bug ENG-4812)
    ('99999999-0000-4000-8000-000000000007', '22222222-0000-4000-8000-000000000007', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000004',
     'on_hold', 'high', 'email', 'account-access', '{scim,azure-ad,deprovisioning,known-issue}', 'en', '8 days', NULL, NULL,
     '{"intent": "bug_report", "category": "account-access", "sentiment": "negative", "language": "en", "suggested_priority": "high", "confidence": 0.86, "model": "seed"}',
     'SCIM: removed users still show up in Flowdesk',
$d$Hello,

We deprovisioned 6 contractors in Microsoft Entra ID yesterday. Four of them disappeared from Flowdesk as expected, but two (both were Guests on our patient-intake projects) are still listed as active, and one of them could still sign in this morning.

The provisioning logs in Entra show success for all six. This is a compliance issue for us, so please treat it with priority.

Hannah Kim$d$),
    -- T08 Olivia Chen: duplicate charge (solved)
    ('99999999-0000-4000-8000-000000000008', '22222222-0000-4000-8000-000000000001', '33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000002',
     'solved', 'high', 'email', 'billing', '{refund,duplicate-charge}', 'en', '6 days 3 hours', '21 hours', NULL,
     '{"intent": "refund_request", "category": "billing", "sentiment": "negative", "language": "en", "suggested_priority": "high", "confidence": 0.96, "model": "seed"}',
     'Charged twice for our monthly renewal',
$d$Hello,

Our card statement shows two charges of $168.00 from Flowdesk on the same day for our monthly renewal (invoice FD-INV-004417). We only have 14 members on the Team plan, billed monthly.

Please refund the duplicate charge.

Olivia Chen
Brightline Marketing$d$),
    -- T09 Sofia Rossi: switch to annual billing (solved)
    ('99999999-0000-4000-8000-000000000009', '22222222-0000-4000-8000-000000000003', '33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000003',
     'solved', 'normal', 'web', 'billing', '{plan-change,annual}', 'en', '5 days 20 hours', '1 day 1 hour', NULL,
     '{"intent": "billing_cycle_change", "category": "billing", "sentiment": "positive", "language": "en", "suggested_priority": "normal", "confidence": 0.93, "model": "seed"}',
     'Switching from monthly to annual billing',
$d$Hi,

We're 8 people on the Team plan, paying monthly, and would like to switch to annual billing to save a bit.

1. If we switch now, in the middle of the month, do we lose the days we have already paid for?
2. Can we still add two new hires next month once we are on annual?

Thanks,
Sofia$d$),
    -- T10 Ethan Brooks: 429 rate limiting (solved)
    ('99999999-0000-4000-8000-000000000010', '22222222-0000-4000-8000-000000000006', '33333333-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000007',
     'solved', 'high', 'api', 'api', '{rate-limit,api,429}', 'en', '4 days 18 hours', '22 hours', NULL,
     '{"intent": "api_error", "category": "api", "sentiment": "negative", "language": "en", "suggested_priority": "high", "confidence": 0.97, "model": "seed"}',
     '429 Too Many Requests in our nightly task sync',
$d$Our nightly job that mirrors Flowdesk tasks into our data warehouse started failing with HTTP 429 after we added two more projects. We're on the Business plan.

The job creates or updates about 20,000 tasks per run with PATCH /v2/tasks/{id}, using 8 workers in parallel.

What are the exact limits, and how should we handle this? Request ID of one failed call: req_8f2c1a9e.

Ethan Brooks, Pinecrest Software (ticket created through our internal support tooling)$d$),
    -- T11 Jonas Weber: invoice without VAT ID, in German (pending)
    ('99999999-0000-4000-8000-000000000011', '22222222-0000-4000-8000-000000000004', '33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000003',
     'pending', 'normal', 'email', 'billing', '{invoice,vat}', 'de', '4 days 2 hours', NULL, NULL,
     '{"intent": "invoice_correction", "category": "billing", "sentiment": "neutral", "language": "de", "suggested_priority": "normal", "confidence": 0.91, "model": "seed"}',
     'Rechnung ohne USt-IdNr. – bitte korrigieren',
$d$Hallo,

auf unserer letzten Rechnung FD-INV-005120 (Jahresabo Business, 32 Mitglieder) fehlt unsere USt-IdNr., deshalb wurden 19 % Umsatzsteuer berechnet (1.459,20 $). Unsere USt-IdNr. lautet DE298765431; wir haben sie gestern in den Abrechnungsdaten hinterlegt.

Können Sie die Rechnung bitte korrigieren und die Umsatzsteuer erstatten?

Viele Grüße
Jonas Weber
Kraftwerk Digital GmbH$d$),
    -- T12 Lucas Silva: Slack private channel (solved)
    ('99999999-0000-4000-8000-000000000012', '22222222-0000-4000-8000-000000000010', '33333333-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000008',
     'solved', 'normal', 'chat', 'integrations', '{slack,notifications,private-channel}', 'en', '3 days', '45 minutes', NULL,
     '{"intent": "integration_problem", "category": "integrations", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.92, "model": "seed"}',
     'Slack notifications stopped for #design-updates',
$d$Hey! For a few days now our Flowdesk updates don't post to #design-updates anymore. Other channels still get them and we didn't change anything in Flowdesk. We did make that channel private last week because some clients are in our Slack, could that be it?$d$),
    -- T13 Marcus Johnson: Okta SAML signature invalid after certificate rotation (open)
    ('99999999-0000-4000-8000-000000000013', '22222222-0000-4000-8000-000000000002', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000004',
     'open', 'high', 'web', 'account-access', '{sso,saml,okta,certificate}', 'en', '2 days 6 hours', NULL, NULL,
     '{"intent": "sso_error", "category": "account-access", "sentiment": "negative", "language": "en", "suggested_priority": "high", "confidence": 0.94, "model": "seed"}',
     'Okta SSO: "SAML response signature invalid" for everyone',
$d$We set up SAML SSO with Okta last week and it worked fine for our pilot group. Since this morning every sign-in through Okta fails with "SAML response signature invalid".

Our Okta admin says nothing changed in the app configuration. We haven't enforced SSO yet, so people can still use their passwords, but we planned to enforce it this week.

Marcus Johnson, Northwind Logistics$d$),
    -- T14 Ethan Brooks: webhook signature mismatch (pending)
    ('99999999-0000-4000-8000-000000000014', '22222222-0000-4000-8000-000000000006', '33333333-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000007',
     'pending', 'high', 'email', 'api', '{webhook,signature}', 'en', '2 days 3 hours', NULL, NULL,
     '{"intent": "api_error", "category": "api", "sentiment": "negative", "language": "en", "suggested_priority": "high", "confidence": 0.9, "model": "seed"}',
     'Webhook signature verification fails since our framework upgrade',
$d$Since we upgraded the web framework of our API service yesterday, every webhook from Flowdesk fails signature verification. We return 401, so deliveries keep being retried.

Our verification code:

    payload = json.dumps(await request.json())
    expected = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()

We haven't rotated the signing secret. Did something change on your side?

Ethan$d$),
    -- T15 Grace Murphy: notification emails held by Mimecast (open)
    ('99999999-0000-4000-8000-000000000015', '22222222-0000-4000-8000-000000000009', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005',
     'open', 'normal', 'email', 'troubleshooting', '{notifications,email,mimecast,known-issue}', 'en', '1 day 22 hours', NULL, NULL,
     '{"intent": "notifications_missing", "category": "troubleshooting", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.88, "model": "seed"}',
     'Not receiving any notification emails',
$d$Hi again!

None of us at Fernbrook receive Flowdesk notification emails: not for assignments, not for mentions. Desktop notifications work fine. We checked spam folders. Our email is run by our IT provider, who uses Mimecast.

Grace$d$),
    -- T16 Jonas Weber: GitHub PRs not linked, key without hyphen (open)
    ('99999999-0000-4000-8000-000000000016', '22222222-0000-4000-8000-000000000004', '33333333-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000008',
     'open', 'normal', 'web', 'integrations', '{github,pull-requests}', 'en', '1 day 8 hours', NULL, NULL,
     '{"intent": "integration_problem", "category": "integrations", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.9, "model": "seed"}',
     'GitHub pull requests are not linked to tasks',
$d$We installed the GitHub app for our kraftwerk-digital organisation last week. Commits show up on tasks, but pull requests never get linked.

Example: PR #412 in kraftwerk-digital/shop-frontend should be linked to task SHOP-318.

Jonas$d$),
    -- T17 Raj Patel: expired full export link (pending)
    ('99999999-0000-4000-8000-000000000017', '22222222-0000-4000-8000-000000000008', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005',
     'pending', 'normal', 'email', 'data-export', '{export,download-link}', 'en', '1 day 2 hours', NULL, NULL,
     '{"intent": "export_help", "category": "data-export", "sentiment": "neutral", "language": "en", "suggested_priority": "normal", "confidence": 0.93, "model": "seed"}',
     'Full export download link has expired',
$d$Hello,

I started a full account export a while ago for our annual archive but was on leave, and the download link now says it has expired. Can you re-send it? We need the export for an audit by the end of the week.

Raj$d$),
    -- T18 Amélie Dubois: CSV export does not download, in French (open)
    ('99999999-0000-4000-8000-000000000018', '22222222-0000-4000-8000-000000000005', '33333333-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000006',
     'open', 'normal', 'chat', 'data-export', '{csv,export,safari}', 'fr', '20 hours', NULL, NULL,
     '{"intent": "export_help", "category": "data-export", "sentiment": "neutral", "language": "fr", "suggested_priority": "normal", "confidence": 0.87, "model": "seed"}',
     'Impossible d''exporter notre projet en CSV',
$d$Bonjour,

Quand je clique sur Exporter → CSV dans le projet « Collection Printemps », rien ne se passe : le fichier ne se télécharge pas. Le projet contient environ 1 200 tâches.

Merci de votre aide,
Amélie$d$),
    -- T19 Amélie Dubois: upgrade Team -> Business, proration (open)
    ('99999999-0000-4000-8000-000000000019', '22222222-0000-4000-8000-000000000005', '33333333-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000006',
     'open', 'normal', 'email', 'billing', '{plan-change,upgrade,proration}', 'en', '9 hours', NULL, NULL,
     '{"intent": "pricing_question", "category": "billing", "sentiment": "positive", "language": "en", "suggested_priority": "normal", "confidence": 0.92, "model": "seed"}',
     'Upgrading to Business: what will we be charged?',
$d$Hi,

We're on Team, billed monthly, with 11 members, and we want to move to Business for SAML SSO. Our next monthly renewal is in about two weeks.

If we upgrade today, what exactly will we be charged? And do we have to switch to annual billing at the same time?

Thanks,
Amélie Dubois, Atelier Moreau$d$),
    -- T20 Lucas Silva: Google Calendar duplicates (new, routed to Integrations & API, unassigned)
    ('99999999-0000-4000-8000-000000000020', '22222222-0000-4000-8000-000000000010', '33333333-0000-4000-8000-000000000003', NULL,
     'new', 'low', 'web', 'integrations', '{google-calendar,duplicates}', 'en', '5 hours', NULL, NULL,
     '{"intent": "integration_problem", "category": "integrations", "sentiment": "neutral", "language": "en", "suggested_priority": "low", "confidence": 0.89, "model": "seed"}',
     'Every task shows up twice in Google Calendar',
$d$Since I connected Google Calendar, every Flowdesk task with a due date shows up twice in my calendar. One copy I can drag around, the other one can't be edited at all. How do I fix this?$d$),
    -- T21 Olivia Chen: guests (new, not routed yet)
    ('99999999-0000-4000-8000-000000000021', '22222222-0000-4000-8000-000000000001', NULL, NULL,
     'new', 'low', 'web', 'getting-started', '{}', 'en', '3 hours', NULL, NULL,
     '{}',
     'How do I add clients without paying for extra seats?',
$d$We want to give three of our clients access to their own campaign projects only. Will they count as paid members? We're on Team, billed monthly.$d$),
    -- T22 Ethan Brooks: pagination (new, not triaged: no category or language yet)
    ('99999999-0000-4000-8000-000000000022', '22222222-0000-4000-8000-000000000006', NULL, NULL,
     'new', 'normal', 'api', NULL, '{}', NULL, '90 minutes', NULL, NULL,
     '{}',
     'GET /v2/tasks only returns 200 tasks',
$d$GET /v2/tasks?project=WEB&limit=500 only returns 200 tasks, but the project has about 3,400. Is there a hard cap? We tried page=2 and offset=200, but we get the same first 200 tasks every time.$d$),
    -- T23 Sofia Rossi: lost 2FA device, workspace owner (new, not triaged)
    ('99999999-0000-4000-8000-000000000023', '22222222-0000-4000-8000-000000000003', NULL, NULL,
     'new', 'normal', 'email', NULL, '{}', NULL, '40 minutes', NULL, NULL,
     '{}',
     'Lost my phone, cannot sign in (2FA)',
$d$Hi,

My phone was stolen yesterday and I can't get my two-factor code any more. I'm the owner of the Lumen Architects workspace and I don't think I saved the backup codes anywhere. I need to approve invoices this week. What can I do?

Sofia Rossi$d$)
), ins AS (
    INSERT INTO public.tickets (id, subject, description, status, priority, channel, customer_id, assignee_id, team_id,
                                category, tags, language, ai_analysis, metadata, created_at, resolved_at, closed_at)
    SELECT src.id::uuid, src.subject, src.description,
           (CASE WHEN src.status IN ('pending', 'solved') THEN 'open' ELSE src.status END)::ticket_status,
           src.priority::ticket_priority, src.channel::ticket_channel,
           src.customer_id::uuid, src.assignee_id::uuid, src.team_id::uuid,
           src.category, src.tags::text[], src.language, src.ai_analysis::jsonb, '{"seed": true}'::jsonb,
           now() - src.age::interval,
           CASE WHEN src.status = 'closed' THEN now() - src.age::interval + src.resolved_after::interval END,
           CASE WHEN src.status = 'closed' THEN now() - src.age::interval + src.closed_after::interval END
      FROM src
     ORDER BY now() - src.age::interval, src.id
    ON CONFLICT DO NOTHING
    RETURNING id, created_at
)
INSERT INTO seed_new_tickets (id, final_status, resolved_at)
SELECT ins.id, src.status::ticket_status, ins.created_at + src.resolved_after::interval
  FROM ins JOIN src ON src.id::uuid = ins.id
 WHERE src.status IN ('pending', 'solved');

-- Conversations ----------------------------------------------------------------------------------

-- Message 01 of every seeded ticket is the customer's opening message: the ticket description.
INSERT INTO public.conversations (id, ticket_id, author_id, message_type, is_internal, body, metadata, created_at)
SELECT ('aaaaaaaa-0000-4000-8000-00000000' || right(t.id::text, 2) || '01')::uuid, t.id, t.customer_id, 'customer'::message_type, false, t.description,
       jsonb_build_object('channel', t.channel, 'opening', true), t.created_at + interval '5 seconds'
  FROM public.tickets t
 WHERE t.id::text LIKE '99999999-0000-4000-8000-%'
 ORDER BY t.created_at, t.id
ON CONFLICT DO NOTHING;

-- The rest of each thread. `after` is the time since the ticket was created; rows are inserted in
-- time order so the triggers (first response, reopen) see them in the order they happened.
-- Customer and agent messages have an author; AI and system messages have none. AI messages are
-- internal drafts (suggestions an agent may send or edit).
INSERT INTO public.conversations (id, ticket_id, author_id, message_type, is_internal, body, metadata, created_at)
SELECT v.id::uuid, t.id, v.author_id::uuid, v.message_type::message_type, v.is_internal, v.body, v.metadata::jsonb,
       t.created_at + v.after::interval
  FROM (VALUES
    -- T01 Grace Murphy: nonprofit discount ------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000102', '99999999-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000002', 'agent', false, '5 hours',
     '{}',
     $m$Hi Grace,

Thanks for getting in touch, and for the work you do at Fernbrook!

Yes: verified nonprofits get **50% off the Team and Business plans billed annually**. For Team that means $5 per member per month instead of $10, so for your 4 members it would be $240 per year. Volunteers can join as **Guests**, which are free on paid plans and don't count as members.

To apply, fill in the form at flowdesk.io/nonprofit and attach your charity registration. Approval usually takes about 3 business days, and once approved the discount is applied automatically when you upgrade to Team with annual billing.

Best,
Daniel
Flowdesk Billing$m$),
    ('aaaaaaaa-0000-4000-8000-000000000103', '99999999-0000-4000-8000-000000000001', '22222222-0000-4000-8000-000000000009', 'customer', false, '1 day 2 hours',
     '{"channel": "web"}',
     $m$Thank you Daniel, that's great news. I've just submitted the application form with our registration certificate.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000104', '99999999-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000002', 'agent', true, '3 days',
     '{}',
     $m$Nonprofit application approved: registration 20041234 verified with the Charities Regulator. NONPROFIT50 coupon attached to workspace "fernbrook"; it applies to annual Team/Business only.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000105', '99999999-0000-4000-8000-000000000001', '11111111-0000-4000-8000-000000000002', 'agent', false, '3 days 10 minutes',
     '{}',
     $m$Good news, Grace: your nonprofit application has been approved. When you upgrade to Team with annual billing (Settings → Billing → Plan), the 50% discount will be applied automatically at checkout.

I'll mark this ticket as solved; just reply here if anything comes up.

Daniel$m$),
    ('aaaaaaaa-0000-4000-8000-000000000106', '99999999-0000-4000-8000-000000000001', NULL, 'system', false, '10 days 10 minutes',
     '{"event": "auto_closed", "after_days": 7}',
     $m$This ticket was closed automatically 7 days after it was solved. Reply to open a new request.$m$),

    -- T02 Raj Patel: GDPR erasure ----------------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000202', '99999999-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005', 'agent', false, '3 hours',
     '{}',
     $m$Hi Raj,

Thanks for the clear request. Here is how erasure works in Flowdesk:

1. Remove Tom from the workspace in **Settings → Members**.
2. Submit an erasure request in **Settings → Privacy → Erasure request** with his email address (Owners and Admins only).
3. We complete the request within 30 days, usually much sooner.

Erasure deletes his profile, name, email, avatar and sign-in history. The **tasks and comments he wrote stay** (they belong to Quantum Retail) and will show as written by "Former member". If any comments themselves contain his personal data, edit or delete those before the request.

If you prefer, once he is removed I can file the request for you: just confirm his email address from the Owner account.

Sam
Flowdesk Technical Support$m$),
    ('aaaaaaaa-0000-4000-8000-000000000203', '99999999-0000-4000-8000-000000000002', '22222222-0000-4000-8000-000000000008', 'customer', false, '1 day',
     '{"channel": "email"}',
     $m$Hi Sam, he has been removed from Members. Please go ahead and file the erasure for tom.hargreaves@quantumretail.example. I'm the workspace owner.

Raj$m$),
    ('aaaaaaaa-0000-4000-8000-000000000204', '99999999-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005', 'agent', true, '1 day 1 hour',
     '{}',
     $m$Verified: Raj is the Owner of quantum-retail and Tom is no longer a member. Erasure request filed as PRIV-88 for tom.hargreaves@quantumretail.example.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000205', '99999999-0000-4000-8000-000000000002', '11111111-0000-4000-8000-000000000005', 'agent', false, '4 days',
     '{}',
     $m$Hi Raj,

The erasure is complete (our reference: PRIV-88). Tom's profile, email address, avatar and sign-in history have been deleted, and his 214 tasks and comments now show as written by "Former member".

You can forward this message to him as confirmation. I'll mark the ticket as solved.

Sam$m$),
    ('aaaaaaaa-0000-4000-8000-000000000206', '99999999-0000-4000-8000-000000000002', NULL, 'system', false, '11 days',
     '{"event": "auto_closed", "after_days": 7}',
     $m$This ticket was closed automatically 7 days after it was solved. Reply to open a new request.$m$),

    -- T03 Marcus Johnson: locked out -------------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000302', '99999999-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000006', 'agent', false, '6 minutes',
     '{}',
     $m$Hi Marcus, sorry about that! Accounts are locked for 30 minutes after 10 failed sign-in attempts in 15 minutes. Two quick ways out:

1. Another Owner or Admin of northwind can unlock you right away: Settings → Members → ⋯ → Unlock account.
2. Reset your password from the sign-in page (Forgot password?). A successful reset also removes the lock.

Is another admin around?$m$),
    ('aaaaaaaa-0000-4000-8000-000000000303', '99999999-0000-4000-8000-000000000003', '22222222-0000-4000-8000-000000000002', 'customer', false, '15 minutes',
     '{"channel": "chat"}',
     $m$Our owner isn't online yet, so I reset my password. That worked, I'm in! I think my old password was still saved in the mobile app and it kept retrying.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000304', '99999999-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000006', 'agent', false, '18 minutes',
     '{}',
     $m$Great! A stale password in the mobile app is the most common cause. Sign out of the app and back in with the new password so it stops retrying. While you're at it, I'd recommend turning on two-factor authentication under Profile → Security.

Good luck with the board meeting. I'll mark this as solved.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000305', '99999999-0000-4000-8000-000000000003', '11111111-0000-4000-8000-000000000006', 'agent', true, '20 minutes',
     '{}',
     $m$Recent activity: 14 failed attempts from the iOS app, all from one Chicago IP that matches his usual sign-ins. Stale password, no sign of an account takeover.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000306', '99999999-0000-4000-8000-000000000003', NULL, 'system', false, '7 days 20 minutes',
     '{"event": "auto_closed", "after_days": 7}',
     $m$This ticket was closed automatically 7 days after it was solved. Reply to open a new request.$m$),

    -- T04 Sofia Rossi: blank Board view ----------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000402', '99999999-0000-4000-8000-000000000004', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.74, "sources": ["troubleshooting/browser-support", "troubleshooting/known-issues-runbook"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Sofia, the Board and Timeline views can stay blank in older browsers, in particular Safari 15 and earlier. Could you ask Marco which browser and version he uses (Help → About your browser)? Flowdesk supports the latest two major versions of Chrome, Firefox, Safari and Edge.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000403', '99999999-0000-4000-8000-000000000004', '11111111-0000-4000-8000-000000000005', 'agent', false, '2 hours',
     '{}',
     $m$Hi Sofia,

Thanks for the details. When only one person is affected, it's usually the browser. Could you ask Marco which browser and version he uses? He can find it under **Help → About your browser** in Flowdesk. Older Safari versions (15 and earlier) can't display the Board and Timeline views.

Sam$m$),
    ('aaaaaaaa-0000-4000-8000-000000000404', '99999999-0000-4000-8000-000000000004', '22222222-0000-4000-8000-000000000003', 'customer', false, '1 day',
     '{"channel": "web"}',
     $m$He's on Safari 15.6. Apparently his Mac can't be updated beyond macOS Monterey.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000405', '99999999-0000-4000-8000-000000000004', '11111111-0000-4000-8000-000000000005', 'agent', false, '1 day 1 hour',
     '{}',
     $m$That explains it: Flowdesk supports the latest two major versions of each browser, and Safari 15 is too old for the Board view.

Good news: macOS Monterey can still install newer Safari versions through Software Update, so Marco doesn't need a new Mac. Alternatively, the current Chrome or Firefox run fine on that iMac.

I'll mark this ticket as solved; just reply if the board still doesn't load after the update.

Sam$m$),
    ('aaaaaaaa-0000-4000-8000-000000000406', '99999999-0000-4000-8000-000000000004', NULL, 'system', false, '8 days 1 hour',
     '{"event": "auto_closed", "after_days": 7}',
     $m$This ticket was closed automatically 7 days after it was solved. Reply to open a new request.$m$),

    -- T05 Marcus Johnson: outage -----------------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000502', '99999999-0000-4000-8000-000000000005', '11111111-0000-4000-8000-000000000004', 'agent', false, '9 minutes',
     '{}',
     $m$Hi Marcus, thank you for reporting this. We're aware of an incident affecting project loading for a number of workspaces, and our engineers are working on it right now.

You can follow live updates at status.flowdesk.io. I'll also update you here at least every 60 minutes until it's resolved.

Priya, Technical Support$m$),
    ('aaaaaaaa-0000-4000-8000-000000000503', '99999999-0000-4000-8000-000000000005', '11111111-0000-4000-8000-000000000004', 'agent', true, '12 minutes',
     '{}',
     $m$Linked to INC-2291 (SEV1: failed primary database failover in us-east-1). Northwind is on Business, so there is no success manager to copy. Tagged outage.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000504', '99999999-0000-4000-8000-000000000005', '11111111-0000-4000-8000-000000000004', 'agent', false, '58 minutes',
     '{}',
     $m$Update: the incident has been resolved and projects are loading normally again. The cause was a database failover that did not complete correctly; no data was lost.

A full root-cause analysis will be published on status.flowdesk.io within 5 business days. I'm very sorry for the disruption to your dispatch teams.

Priya$m$),
    ('aaaaaaaa-0000-4000-8000-000000000505', '99999999-0000-4000-8000-000000000005', '11111111-0000-4000-8000-000000000004', 'agent', false, '3 days',
     '{}',
     $m$Hi Marcus, the root-cause analysis is now published: status.flowdesk.io/incidents/inc-2291. It covers what happened, why the failover did not complete, and the changes we are making to prevent it.

I'll mark this ticket as solved. Thank you for your patience.

Priya$m$),
    ('aaaaaaaa-0000-4000-8000-000000000506', '99999999-0000-4000-8000-000000000005', NULL, 'system', false, '10 days',
     '{"event": "auto_closed", "after_days": 7}',
     $m$This ticket was closed automatically 7 days after it was solved. Reply to open a new request.$m$),

    -- T06 Hannah Kim: SOC 2 and BAA --------------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000602', '99999999-0000-4000-8000-000000000006', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "Sign-in, security and data requests", "position": 60, "team": "Technical Support"}',
     $m$Routed to Technical Support by rule "Sign-in, security and data requests" (position 60).$m$),
    ('aaaaaaaa-0000-4000-8000-000000000603', '99999999-0000-4000-8000-000000000006', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.81, "sources": ["security/security-overview"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Hannah, Business and Enterprise customers can download our SOC 2 Type II report from trust.flowdesk.io after accepting an NDA. Flowdesk signs a Business Associate Agreement (BAA) on the Enterprise plan. I have forwarded your BAA redlines to our legal team and will update you as soon as they respond.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000604', '99999999-0000-4000-8000-000000000006', '11111111-0000-4000-8000-000000000004', 'agent', false, '3 hours',
     '{}',
     $m$Hi Hannah,

Thanks for reaching out ahead of the renewal.

**SOC 2 Type II report:** as an Enterprise admin you can download it right away from our trust center at trust.flowdesk.io after accepting the NDA. The latest penetration test summary is there too.

**BAA:** the Enterprise plan includes our standard BAA. I found the redlines to section 4 that you sent through your account manager and have forwarded them to our legal team with a request to prioritise them because of your renewal date.

I'm putting this ticket on hold while Legal reviews, and I'll update you as soon as I hear back.

Priya Natarajan
Technical Support Lead$m$),
    ('aaaaaaaa-0000-4000-8000-000000000605', '99999999-0000-4000-8000-000000000006', '11111111-0000-4000-8000-000000000004', 'agent', true, '3 hours 5 minutes',
     '{}',
     $m$LEGAL-231 opened for the BAA redlines (section 4: they want breach notification within 24h instead of our standard 72h). Legal's estimate: about a week. Their success manager is copied, as the escalation playbook requires for Enterprise.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000606', '99999999-0000-4000-8000-000000000006', '11111111-0000-4000-8000-000000000004', 'agent', false, '7 days',
     '{}',
     $m$Hi Hannah, a quick update: Legal has accepted most of your redlines. Section 4 (the breach notification window) needs one more round with your counsel, and our legal team will email them directly this week.

I'll keep this ticket on hold and update you by the end of next week at the latest.

Priya$m$),

    -- T07 Hannah Kim: SCIM deprovisioning --------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000702', '99999999-0000-4000-8000-000000000007', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.46, "sources": ["account-access/scim-provisioning"], "model": "seed"}',
     $m$Suggested reply (draft, low confidence):

Hi Hannah, when a user is deactivated in the identity provider, Flowdesk signs them out everywhere and blocks sign-in immediately. Could you check the provisioning logs in Entra ID for errors such as 401 (revoked token) or 409 (conflict)?$m$),
    ('aaaaaaaa-0000-4000-8000-000000000703', '99999999-0000-4000-8000-000000000007', '11111111-0000-4000-8000-000000000004', 'agent', true, '40 minutes',
     '{}',
     $m$AI draft is wrong here: this is ENG-4812 from the known issues runbook (SCIM deactivation ignored for Guests). Both users are Guests. Added Sunrise Health (Enterprise, healthcare) to ENG-4812 as an affected customer and asked for the fix to be prioritised.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000704', '99999999-0000-4000-8000-000000000007', '11111111-0000-4000-8000-000000000004', 'agent', false, '45 minutes',
     '{}',
     $m$Hi Hannah,

Thank you for the detailed report, and I understand why this is urgent for you.

This is a known bug: SCIM deactivation is currently **not applied to users with the Guest role**. Members and Admins are deprovisioned correctly, which is why four of the six contractors were removed.

**Workaround:** remove the two Guests manually in **Settings → Members**. This immediately signs them out everywhere and blocks sign-in.

Our engineers are working on a fix, targeted for the next release. I'll keep this ticket on hold and let you know as soon as it ships.

Priya$m$),
    ('aaaaaaaa-0000-4000-8000-000000000705', '99999999-0000-4000-8000-000000000007', '22222222-0000-4000-8000-000000000007', 'customer', false, '2 hours',
     '{"channel": "email"}',
     $m$Thanks Priya. I removed both manually. Please do keep me posted; we will need written confirmation of the fix for our audit.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000706', '99999999-0000-4000-8000-000000000007', '11111111-0000-4000-8000-000000000004', 'agent', true, '5 days',
     '{}',
     $m$ENG-4812 fix is merged and ships with next week's release. Keep on hold; reply to Hannah with written confirmation once it is deployed, then solve.$m$),

    -- T08 Olivia Chen: duplicate charge ----------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000802', '99999999-0000-4000-8000-000000000008', NULL, 'ai', true, '3 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.86, "sources": ["billing/refund-policy"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Olivia, I'm sorry about the double charge. Duplicate charges are always refunded in full. The refund goes back to the card you paid with and typically appears within 5-10 business days, depending on your bank.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000803', '99999999-0000-4000-8000-000000000008', '11111111-0000-4000-8000-000000000002', 'agent', true, '2 hours 50 minutes',
     '{}',
     $m$Confirmed in the billing console: FD-INV-004417 was paid twice ($168.00 each); a processor timeout triggered a retry. Refunded the duplicate in full, reason code "duplicate". No approval needed per the internal refund policy.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000804', '99999999-0000-4000-8000-000000000008', '11111111-0000-4000-8000-000000000002', 'agent', false, '3 hours',
     '{}',
     $m$Hi Olivia,

You're right, and I'm sorry about this. The second charge of $168.00 (14 members × $12) on invoice FD-INV-004417 was a duplicate caused by a payment retry on our side.

I've refunded the duplicate charge in full to the same card. Depending on your bank, it will appear within 5-10 business days. The invoice itself is unchanged, and no action is needed from you.

Best,
Daniel
Flowdesk Billing$m$),
    ('aaaaaaaa-0000-4000-8000-000000000805', '99999999-0000-4000-8000-000000000008', '22222222-0000-4000-8000-000000000001', 'customer', false, '20 hours',
     '{"channel": "email"}',
     $m$Thanks Daniel, I can already see the refund as pending on the card.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000806', '99999999-0000-4000-8000-000000000008', '11111111-0000-4000-8000-000000000002', 'agent', false, '21 hours',
     '{}',
     $m$Great, thanks for confirming! I'll mark this ticket as solved. Just reply if anything else comes up.

Daniel$m$),

    -- T09 Sofia Rossi: monthly to annual ---------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000000902', '99999999-0000-4000-8000-000000000009', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "Billing questions", "position": 20, "team": "Billing & Accounts"}',
     $m$Routed to Billing & Accounts by rule "Billing questions" (position 20).$m$),
    ('aaaaaaaa-0000-4000-8000-000000000903', '99999999-0000-4000-8000-000000000009', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.9, "sources": ["billing/annual-vs-monthly", "billing/change-plan"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Sofia, you can switch to annual billing at any time. The switch is immediate and the unused part of your current month is credited. Annual Team costs $10 per member per month, so 8 × $120 = $960 per year, minus the credit. Members added later are charged pro rata for the rest of the year at the quarterly true-up.$m$),
    ('aaaaaaaa-0000-4000-8000-000000000904', '99999999-0000-4000-8000-000000000009', '11111111-0000-4000-8000-000000000003', 'agent', false, '4 hours',
     '{}',
     $m$Hi Sofia,

Good news on both points:

1. **You don't lose anything.** Switching to annual is immediate, and the unused days of the month you've already paid are credited against the annual charge. Annual Team is $10 per member per month, so for 8 members that's 8 × $120 = **$960 for the year**, minus the credit.
2. **Adding people is no problem.** You can add members at any time on an annual plan. New members are charged pro rata for the rest of your annual term at the next quarterly true-up.

To switch, the workspace Owner goes to **Settings → Billing → Plan → Switch to annual billing**.

Best regards,
Lena
Flowdesk Billing & Accounts$m$),
    ('aaaaaaaa-0000-4000-8000-000000000905', '99999999-0000-4000-8000-000000000009', '22222222-0000-4000-8000-000000000003', 'customer', false, '1 day',
     '{"channel": "web"}',
     $m$Done, we switched. Thanks for the clear explanation!$m$),
    ('aaaaaaaa-0000-4000-8000-000000000906', '99999999-0000-4000-8000-000000000009', '11111111-0000-4000-8000-000000000003', 'agent', false, '1 day 1 hour',
     '{}',
     $m$Perfect, I can see the annual subscription is active. I'll mark this ticket as solved.

Lena$m$),

    -- T10 Ethan Brooks: 429 ----------------------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001002', '99999999-0000-4000-8000-000000000010', NULL, 'ai', true, '1 minute',
     '{"kind": "suggestion", "draft": true, "confidence": 0.92, "sources": ["api/rate-limits"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Ethan, the Business plan allows 1,000 API requests per minute per workspace, shared by all keys, plus at most 20 requests per second per key. Honour the Retry-After header on 429 responses and back off exponentially. To reduce the number of requests, use POST /v2/tasks/batch, which updates up to 100 tasks per request and counts as one request.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001003', '99999999-0000-4000-8000-000000000010', '11111111-0000-4000-8000-000000000007', 'agent', false, '1 hour 30 minutes',
     '{}',
     $m$Hi Ethan,

Here are the exact limits for your workspace (Business plan):

- **1,000 requests per minute per workspace**, shared by all API keys and by Zapier.
- **20 requests per second per API key**, on every plan.

20,000 single PATCH calls from 8 parallel workers exceed both. Two changes will fix it:

1. **Use the batch endpoint.** `POST /v2/tasks/batch` creates or updates up to 100 tasks per request and counts as **one** request, so 20,000 updates become 200 requests.
2. **Honour `Retry-After`.** On a 429, wait the number of seconds in that header, then back off exponentially with jitter. Rejected requests still count toward the limit, so immediate retries make it worse.

You can watch `X-RateLimit-Remaining` and `X-RateLimit-Reset` on every response to pace the workers.

Kenji
Integrations & API$m$),
    ('aaaaaaaa-0000-4000-8000-000000001004', '99999999-0000-4000-8000-000000000010', '11111111-0000-4000-8000-000000000007', 'agent', true, '1 hour 35 minutes',
     '{}',
     $m$Checked req_8f2c1a9e: workspace pinecrest peaked at 2,380 requests/min during the sync, plus ~150/min from their Zapier key. No limit increase: they are on Business, not Enterprise, and batching brings them well under the limit.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001005', '99999999-0000-4000-8000-000000000010', '22222222-0000-4000-8000-000000000006', 'customer', false, '20 hours',
     '{"channel": "api"}',
     $m$We switched to the batch endpoint and added backoff. The sync now finishes in 4 minutes with zero 429s. Thanks!$m$),
    ('aaaaaaaa-0000-4000-8000-000000001006', '99999999-0000-4000-8000-000000000010', '11111111-0000-4000-8000-000000000007', 'agent', false, '22 hours',
     '{}',
     $m$Excellent result, thanks for letting us know! I'll mark this ticket as solved.

Kenji$m$),

    -- T11 Jonas Weber: VAT ID on invoice (German) -----------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001102', '99999999-0000-4000-8000-000000000011', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "Billing questions", "position": 20, "team": "Billing & Accounts"}',
     $m$Routed to Billing & Accounts by rule "Billing questions" (position 20).$m$),
    ('aaaaaaaa-0000-4000-8000-000000001103', '99999999-0000-4000-8000-000000000011', NULL, 'ai', true, '3 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.83, "language": "de", "sources": ["billing/vat-and-taxes", "billing/invoices"], "model": "seed"}',
     $m$Antwortvorschlag (Entwurf, nicht gesendet):

Hallo Herr Weber, Rechnungen der letzten 90 Tage können wir mit Ihrer USt-IdNr. und Reverse-Charge-Vermerk neu ausstellen. Die berechnete Umsatzsteuer wird auf die ursprüngliche Zahlungsmethode erstattet; das dauert 5-10 Werktage.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001104', '99999999-0000-4000-8000-000000000011', '11111111-0000-4000-8000-000000000003', 'agent', true, '2 hours',
     '{}',
     $m$VIES check for DE298765431: valid, Kraftwerk Digital GmbH, Köln. FD-INV-005120 was issued 19 days before the ticket, so it is within the 90-day window and can be re-issued. VIES has the company in Köln but the invoice shows the old Munich address, so I'm asking him to confirm before re-issuing.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001105', '99999999-0000-4000-8000-000000000011', '11111111-0000-4000-8000-000000000003', 'agent', false, '2 hours 10 minutes',
     '{}',
     $m$Hallo Herr Weber,

vielen Dank für Ihre Nachricht. Ihre USt-IdNr. DE298765431 ist gültig (die VIES-Prüfung war erfolgreich).

Da die Rechnung FD-INV-005120 weniger als 90 Tage alt ist, können wir sie mit Reverse-Charge-Vermerk neu ausstellen und die berechnete Umsatzsteuer von 1.459,20 $ auf Ihre Karte erstatten. Die Gutschrift erscheint je nach Bank innerhalb von 5-10 Werktagen.

Eine Frage vorab: In VIES ist Ihr Firmensitz in Köln eingetragen, auf der Rechnung steht noch die Adresse in München. Soll die neue Rechnung auf die Kölner Adresse ausgestellt werden? Sobald Sie das bestätigen, erhalten Sie die korrigierte Rechnung innerhalb von 2 Werktagen.

Viele Grüße
Lena Vogel
Flowdesk Billing & Accounts$m$),

    -- T12 Lucas Silva: Slack private channel ----------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001202', '99999999-0000-4000-8000-000000000012', NULL, 'ai', true, '1 minute',
     '{"kind": "suggestion", "draft": true, "confidence": 0.93, "sources": ["integrations/slack"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Lucas, yes, that's the cause. The Flowdesk app can't see private channels until it is a member. In #design-updates, type /invite @Flowdesk, then select the channel again under Project → ⋯ → Integrations → Slack.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001203', '99999999-0000-4000-8000-000000000012', '11111111-0000-4000-8000-000000000008', 'agent', false, '25 minutes',
     '{}',
     $m$Hi Lucas, yes, that's exactly it! When a channel is converted to private, the Flowdesk app loses access until it is invited. In #design-updates, type:

    /invite @Flowdesk

Then open the project, go to ⋯ → Integrations → Slack and select #design-updates again. Updates will start flowing immediately.

Aisha$m$),
    ('aaaaaaaa-0000-4000-8000-000000001204', '99999999-0000-4000-8000-000000000012', '22222222-0000-4000-8000-000000000010', 'customer', false, '40 minutes',
     '{"channel": "chat"}',
     $m$That did it, updates are coming through again 🙌$m$),
    ('aaaaaaaa-0000-4000-8000-000000001205', '99999999-0000-4000-8000-000000000012', '11111111-0000-4000-8000-000000000008', 'agent', false, '45 minutes',
     '{}',
     $m$Great to hear! I'll mark this as solved. Have a good day, Lucas.$m$),

    -- T13 Marcus Johnson: SAML signature invalid -------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001302', '99999999-0000-4000-8000-000000000013', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "Sign-in, security and data requests", "position": 60, "team": "Technical Support"}',
     $m$Routed to Technical Support by rule "Sign-in, security and data requests" (position 60).$m$),
    ('aaaaaaaa-0000-4000-8000-000000001303', '99999999-0000-4000-8000-000000000013', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.79, "sources": ["account-access/saml-sso-setup"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Marcus, "SAML response signature invalid" usually means your identity provider signs with a certificate Flowdesk does not have yet, for example after a certificate rotation. Upload the new certificate under Settings → Security → Single sign-on → Certificates; Flowdesk accepts two certificates at once.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001304', '99999999-0000-4000-8000-000000000013', '11111111-0000-4000-8000-000000000004', 'agent', false, '1 hour 10 minutes',
     '{}',
     $m$Hi Marcus,

This error almost always means Okta is signing with a certificate that Flowdesk doesn't know yet, typically after a certificate rotation in Okta.

Could you ask your Okta admin to check **Sign On → SAML Signing Certificates** for the Flowdesk app? If a new certificate became active recently, download it and upload it in Flowdesk under **Settings → Security → Single sign-on → Certificates**. Flowdesk accepts two certificates at once, so the old one can stay until everything works.

Priya$m$),
    ('aaaaaaaa-0000-4000-8000-000000001305', '99999999-0000-4000-8000-000000000013', '22222222-0000-4000-8000-000000000002', 'customer', false, '5 hours',
     '{"channel": "web"}',
     $m$Our Okta admin found that a new certificate was activated yesterday by an automatic rotation. She uploaded it in Flowdesk, but now gets "Certificate already exists", and sign-in still fails. Screenshot attached.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001306', '99999999-0000-4000-8000-000000000013', '11111111-0000-4000-8000-000000000004', 'agent', true, '6 hours',
     '{}',
     $m$The SSO config for northwind has the new certificate's fingerprint stored but marked inactive, which looks like a UI bug when an upload is retried. Asked in #eng-identity whether it can be activated from the admin console. Reply to Marcus tomorrow morning with next steps; enforcement is on hold on their side until then.$m$),

    -- T14 Ethan Brooks: webhook signatures -------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001402', '99999999-0000-4000-8000-000000000014', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.88, "sources": ["api/webhooks", "troubleshooting/known-issues-runbook"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Ethan, nothing changed on our side. The signature is computed over the raw request body, and json.dumps(await request.json()) produces a re-serialised body that differs from it, so the HMAC never matches. Verify against the raw bytes of the request instead.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001403', '99999999-0000-4000-8000-000000000014', '11111111-0000-4000-8000-000000000007', 'agent', true, '50 minutes',
     '{}',
     $m$Matches known issue 5 in the runbook (verifying a re-serialised body). Their endpoint has 31 consecutive failed events; it is disabled automatically at 50, so warn them.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001404', '99999999-0000-4000-8000-000000000014', '11111111-0000-4000-8000-000000000007', 'agent', false, '55 minutes',
     '{}',
     $m$Hi Ethan,

Nothing changed on our side. The problem is in this line:

    payload = json.dumps(await request.json())

It parses and re-serialises the body, which changes whitespace and key order, so the HMAC can never match. The signature is computed over the **raw request body**. Something like this works:

    raw = await request.body()
    expected = hmac.new(secret.encode(), t.encode() + b"." + raw, hashlib.sha256).hexdigest()
    valid = hmac.compare_digest(expected, v1)

Heads-up: your endpoint currently has 31 consecutive failed events. After 50 it is disabled automatically. Once your fix is deployed, you can replay the failed events from the last 7 days under **Settings → API → Webhooks**.

Could you let me know when the fix is live, so I can confirm deliveries are succeeding?

Kenji$m$),

    -- T15 Grace Murphy: notifications and Mimecast -----------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001502', '99999999-0000-4000-8000-000000000015', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.84, "sources": ["troubleshooting/notifications-not-arriving"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Grace, security gateways such as Mimecast sometimes hold notification emails. Please ask your IT provider to allowlist notifications@flowdesk.io and our sending domain mail.flowdesk.io, and to release any held messages.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001503', '99999999-0000-4000-8000-000000000015', '11111111-0000-4000-8000-000000000005', 'agent', false, '3 hours',
     '{}',
     $m$Hi Grace,

Thanks, the Mimecast detail is really helpful. Mimecast often holds bulk notification email from tools like Flowdesk, even though our messages pass SPF, DKIM and DMARC.

Could you ask your IT provider to:

1. add a **Permitted Senders** policy for our sending domain **mail.flowdesk.io** (sender notifications@flowdesk.io), and
2. release any Flowdesk messages currently held in Mimecast?

Also check **Profile → Notifications**: with "Daily digest" selected, emails only arrive once a day at 08:00.

Sam$m$),
    ('aaaaaaaa-0000-4000-8000-000000001504', '99999999-0000-4000-8000-000000000015', '22222222-0000-4000-8000-000000000009', 'customer', false, '1 day',
     '{"channel": "email"}',
     $m$Our IT provider added the policy this morning. Emails for new assignments arrive now, but mention notifications still don't come through for two of us (grace.murphy@ and finance@).$m$),
    ('aaaaaaaa-0000-4000-8000-000000001505', '99999999-0000-4000-8000-000000000015', '11111111-0000-4000-8000-000000000005', 'agent', true, '1 day 2 hours',
     '{}',
     $m$SES suppression list: grace.murphy@fernbrook.example and finance@fernbrook.example were suppressed after bounces while Mimecast was holding our mail (known issue 2 in the runbook). Asked mail-ops to remove both; reply to Grace once confirmed.$m$),

    -- T16 Jonas Weber: GitHub PR linking ---------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001602', '99999999-0000-4000-8000-000000000016', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "API and integrations", "position": 40, "team": "Integrations & API"}',
     $m$Routed to Integrations & API by rule "API and integrations" (position 40).$m$),
    ('aaaaaaaa-0000-4000-8000-000000001603', '99999999-0000-4000-8000-000000000016', '11111111-0000-4000-8000-000000000008', 'agent', false, '3 hours',
     '{}',
     $m$Hi Jonas,

Thanks for the example. Pull requests are linked when the task key appears in the branch name or the PR title (commits are linked from their commit messages). Could you send me the branch name and the title of PR #412?

Aisha$m$),
    ('aaaaaaaa-0000-4000-8000-000000001604', '99999999-0000-4000-8000-000000000016', '22222222-0000-4000-8000-000000000004', 'customer', false, '5 hours',
     '{"channel": "web"}',
     $m$The branch is feature/shop318-checkout-fix and the PR title is "Checkout fix shop318". The commits inside say "SHOP-318 fix rounding", I guess that's why the commits get linked.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001605', '99999999-0000-4000-8000-000000000016', NULL, 'ai', true, '5 hours 1 minute',
     '{"kind": "suggestion", "draft": true, "confidence": 0.9, "sources": ["integrations/github"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Jonas, that explains it: the task key needs a hyphen between the project key and the number. "shop318" is not recognised, while "SHOP-318" or "shop-318" is (keys are not case-sensitive). Edit the PR title to include SHOP-318; editing the title re-triggers linking, and the PR will appear on the task.$m$),

    -- T17 Raj Patel: expired export link ---------------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001702', '99999999-0000-4000-8000-000000000017', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.9, "sources": ["data-export/full-account-export"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Raj, export download links are valid for 7 days, and expired export files are deleted, so the old export cannot be re-sent. You can start a new one right away under Settings → Workspace → Export data; most exports are ready in under an hour, and very large ones within 24 hours.$m$),
    ('aaaaaaaa-0000-4000-8000-000000001703', '99999999-0000-4000-8000-000000000017', '11111111-0000-4000-8000-000000000005', 'agent', false, '2 hours',
     '{}',
     $m$Hi Raj,

Export links are valid for 7 days, and the files are deleted when the link expires, so unfortunately we can't re-send the old one. The good news is that you can start a new export right away:

1. Sign in as the Owner.
2. Go to **Settings → Workspace → Export data** and click **Start export**.

For a workspace of your size with attachments, it usually takes a few hours. If you only need the data for the audit, leaving out attachments makes it much faster.

Sam$m$),
    ('aaaaaaaa-0000-4000-8000-000000001704', '99999999-0000-4000-8000-000000000017', '22222222-0000-4000-8000-000000000008', 'customer', false, '3 hours',
     '{"channel": "email"}',
     $m$OK, I've just started a new one, with attachments. Will the link go to me again?$m$),
    ('aaaaaaaa-0000-4000-8000-000000001705', '99999999-0000-4000-8000-000000000017', '11111111-0000-4000-8000-000000000005', 'agent', false, '7 hours',
     '{}',
     $m$Yes: the link always goes to the workspace Owner, so that's you. I can see your export finished about 20 minutes ago; the email with the link should be in your inbox, and the link is valid for 7 days.

Could you confirm you were able to download it? Then I'll close the ticket.

Sam$m$),

    -- T18 Amélie Dubois: CSV export (French) -----------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001802', '99999999-0000-4000-8000-000000000018', '11111111-0000-4000-8000-000000000006', 'agent', false, '12 minutes',
     '{}',
     $m$Bonjour Amélie,

Merci pour votre message. Avec environ 1 200 tâches, le fichier CSV devrait se télécharger directement dans le navigateur.

Quel navigateur utilisez-vous ? Sur Safari, le téléchargement est parfois bloqué lorsque les fenêtres pop-up sont bloquées : allez dans Safari → Réglages → Sites web → Fenêtres pop-up, puis autorisez app.flowdesk.io.

Camille$m$),
    ('aaaaaaaa-0000-4000-8000-000000001803', '99999999-0000-4000-8000-000000000018', '22222222-0000-4000-8000-000000000005', 'customer', false, '20 minutes',
     '{"channel": "chat"}',
     $m$J'utilise Safari 17 sur Mac. J'ai autorisé les pop-ups mais toujours rien. Avec Chrome, cela fonctionne !$m$),
    ('aaaaaaaa-0000-4000-8000-000000001804', '99999999-0000-4000-8000-000000000018', NULL, 'ai', true, '21 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.62, "language": "fr", "sources": ["data-export/csv-export", "troubleshooting/browser-support"], "model": "seed"}',
     $m$Proposition de réponse (brouillon, non envoyé) :

Merci pour ce test. Comme l'export fonctionne avec Chrome, une extension de Safari bloque probablement le téléchargement. Pouvez-vous essayer dans une fenêtre de navigation privée de Safari, avec les extensions désactivées ?$m$),

    -- T19 Amélie Dubois: upgrade to Business -----------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000001902', '99999999-0000-4000-8000-000000000019', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "Billing questions", "position": 20, "team": "Billing & Accounts"}',
     $m$Routed to Billing & Accounts by rule "Billing questions" (position 20).$m$),
    ('aaaaaaaa-0000-4000-8000-000000001903', '99999999-0000-4000-8000-000000000019', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.87, "sources": ["billing/change-plan", "billing/plans-and-pricing"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Amélie, upgrades take effect immediately and you pay the prorated difference for the rest of the billing period: 11 × ($24 − $12) = $132 for a full month, so about $66 with two weeks left. From the next renewal you pay 11 × $24 = $264 per month. You don't need to switch to annual billing; annual Business would be $20 per member per month ($2,640 per year for 11 members).$m$),
    ('aaaaaaaa-0000-4000-8000-000000001904', '99999999-0000-4000-8000-000000000019', '11111111-0000-4000-8000-000000000006', 'agent', false, '2 hours',
     '{}',
     $m$Hi Amélie,

The upgrade takes effect immediately, and you only pay the difference for the days left in your current month:

- Full-month difference: 11 members × ($24 − $12) = $132
- With about two weeks left: roughly **$66 today** (the exact amount is shown before you confirm)
- From your next renewal: 11 × $24 = **$264 per month**

You don't need to switch to annual billing. If you'd like to later, annual Business is $20 per member per month, i.e. $2,640 per year for 11 members.

SAML SSO is available as soon as the upgrade is done, under Settings → Security → Single sign-on.

Camille$m$),
    ('aaaaaaaa-0000-4000-8000-000000001905', '99999999-0000-4000-8000-000000000019', '22222222-0000-4000-8000-000000000005', 'customer', false, '6 hours',
     '{"channel": "email"}',
     $m$Thanks Camille, very clear! One more question: if we switch to annual a few months from now, are the remaining days of that month credited too?$m$),

    -- T20 Lucas Silva: Google Calendar duplicates ------------------------------------------------
    ('aaaaaaaa-0000-4000-8000-000000002002', '99999999-0000-4000-8000-000000000020', NULL, 'system', true, '1 minute',
     '{"event": "routed", "rule": "API and integrations", "position": 40, "team": "Integrations & API"}',
     $m$Routed to Integrations & API by rule "API and integrations" (position 40).$m$),
    ('aaaaaaaa-0000-4000-8000-000000002003', '99999999-0000-4000-8000-000000000020', NULL, 'ai', true, '2 minutes',
     '{"kind": "suggestion", "draft": true, "confidence": 0.91, "sources": ["integrations/google-calendar", "troubleshooting/known-issues-runbook"], "model": "seed"}',
     $m$Suggested reply (draft, not sent):

Hi Lucas, duplicates happen when both the two-way Google Calendar sync and the read-only iCal feed subscription are active. The copy you can't edit comes from the feed. In Google Calendar, open "Other calendars", find the Flowdesk feed and click Unsubscribe; the synced events stay.$m$),

    -- T21 Olivia Chen, T22 Ethan Brooks, T23 Sofia Rossi: automatic acknowledgements ------------
    ('aaaaaaaa-0000-4000-8000-000000002102', '99999999-0000-4000-8000-000000000021', NULL, 'system', false, '10 seconds',
     '{"event": "acknowledged", "channel": "web"}',
     $m$Thanks for contacting Flowdesk Support. We've received your request and will reply within 24 hours. In the meantime, our help center at help.flowdesk.io may already have the answer.$m$),
    ('aaaaaaaa-0000-4000-8000-000000002202', '99999999-0000-4000-8000-000000000022', NULL, 'system', true, '10 seconds',
     '{"event": "created_via_api", "integration": "Pinecrest support bridge"}',
     $m$Ticket created through the API by the integration "Pinecrest support bridge" (API key fd_live_…9c2e).$m$),
    ('aaaaaaaa-0000-4000-8000-000000002302', '99999999-0000-4000-8000-000000000023', NULL, 'system', false, '10 seconds',
     '{"event": "acknowledged", "channel": "email"}',
     $m$Thanks for contacting Flowdesk Support. We've received your request and will reply within 8 hours. For security reasons, we can never remove two-factor authentication from an account without verifying the owner's identity.$m$)
  ) AS v (id, ticket_id, author_id, message_type, is_internal, after, metadata, body)
  JOIN public.tickets t ON t.id = v.ticket_id::uuid
 ORDER BY t.created_at + v.after::interval, v.id
ON CONFLICT DO NOTHING;

-- Now that the threads are in, move the tickets inserted by this run to their final status.
-- (The lifecycle trigger keeps the resolved_at given here for solved tickets.)
UPDATE public.tickets t
   SET status = n.final_status,
       resolved_at = CASE WHEN n.final_status = 'solved' THEN n.resolved_at ELSE t.resolved_at END
  FROM seed_new_tickets n
 WHERE t.id = n.id;

-- Knowledge-base feedback --------------------------------------------------------------------------

INSERT INTO public.kb_article_feedback (id, article_id, user_id, ticket_id, helpful, comment, created_at) VALUES
    ('bbbbbbbb-0000-4000-8000-000000000001', '88888888-0000-4000-8000-000000000006', '22222222-0000-4000-8000-000000000001', '99999999-0000-4000-8000-000000000008',
     true, 'Clear about how long the refund takes.', now() - interval '5 days 20 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000002', '88888888-0000-4000-8000-000000000023', '22222222-0000-4000-8000-000000000006', '99999999-0000-4000-8000-000000000010',
     true, 'The batch endpoint tip saved us.', now() - interval '3 days 21 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000003', '88888888-0000-4000-8000-000000000017', '22222222-0000-4000-8000-000000000010', '99999999-0000-4000-8000-000000000012',
     true, NULL, now() - interval '2 days 23 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000004', '88888888-0000-4000-8000-000000000030', '22222222-0000-4000-8000-000000000009', '99999999-0000-4000-8000-000000000015',
     false, 'We did all of this and mention emails still do not arrive.', now() - interval '21 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000005', '88888888-0000-4000-8000-000000000026', '22222222-0000-4000-8000-000000000005', '99999999-0000-4000-8000-000000000018',
     false, 'Le conseil pour Safari n''a pas aidé, et l''article n''existe pas en français.', now() - interval '19 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000006', '88888888-0000-4000-8000-000000000013', '22222222-0000-4000-8000-000000000002', '99999999-0000-4000-8000-000000000013',
     false, 'Uploading the new certificate fails with "Certificate already exists". Not covered here.', now() - interval '2 days'),
    ('bbbbbbbb-0000-4000-8000-000000000007', '88888888-0000-4000-8000-000000000005', '22222222-0000-4000-8000-000000000003', '99999999-0000-4000-8000-000000000009',
     true, NULL, now() - interval '4 days 19 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000008', '88888888-0000-4000-8000-000000000028', '22222222-0000-4000-8000-000000000008', '99999999-0000-4000-8000-000000000002',
     true, 'Exactly what our DPO needed.', now() - interval '20 days'),
    ('bbbbbbbb-0000-4000-8000-000000000009', '88888888-0000-4000-8000-000000000001', NULL, NULL,
     true, NULL, now() - interval '12 days'),
    ('bbbbbbbb-0000-4000-8000-000000000010', '88888888-0000-4000-8000-000000000032', '22222222-0000-4000-8000-000000000003', '99999999-0000-4000-8000-000000000004',
     true, NULL, now() - interval '15 days 22 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000011', '88888888-0000-4000-8000-000000000015', '22222222-0000-4000-8000-000000000002', '99999999-0000-4000-8000-000000000003',
     true, 'Password reset unlocked it right away.', now() - interval '19 days 23 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000012', '88888888-0000-4000-8000-000000000003', '22222222-0000-4000-8000-000000000009', '99999999-0000-4000-8000-000000000001',
     true, NULL, now() - interval '28 days 18 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000013', '88888888-0000-4000-8000-000000000027', '22222222-0000-4000-8000-000000000008', '99999999-0000-4000-8000-000000000017',
     false, 'Should say more clearly that an expired export cannot be sent again.', now() - interval '22 hours'),
    ('bbbbbbbb-0000-4000-8000-000000000014', '88888888-0000-4000-8000-000000000020', NULL, NULL,
     true, NULL, now() - interval '9 days')
ON CONFLICT DO NOTHING;
