-- A claimed job is not yet a started one. The worker records the start
-- (batched with its completions); a job rescued before it started gets its
-- attempt back, so a killed worker no longer costs an attempt to the jobs it
-- had only prefetched.
ALTER TABLE comptoir_jobs ADD COLUMN started_at TIMESTAMPTZ;
UPDATE comptoir_jobs SET started_at = locked_at WHERE state = 'running';

-- API idempotency: the first request holds its key until `locked_until`; a
-- request that died without committing frees the key when it passes, so a
-- retry runs the work (instead of 409 for ever). The answer is kept in the
-- same transaction as the work, so a committed request is never run twice.
ALTER TABLE api_requests ADD COLUMN locked_until TIMESTAMPTZ;

-- When a payment was first handed to its provider: from then on the provider
-- may have acted, and the reconciliation asks it (by idempotency key when
-- there is no reference yet) instead of leaving the payment initiated.
ALTER TABLE payments ADD COLUMN provider_called_at TIMESTAMPTZ;
