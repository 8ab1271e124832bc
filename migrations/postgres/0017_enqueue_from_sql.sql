-- Issue 14 (queue features): other languages enqueue too.
--
-- `comptoir_kinds` lists the kinds this product's workers run, with their
-- defaults and limit declarations; `comptoir-worker` and `comptoir-web` write
-- it at start from their registry (a kind no longer registered is removed).
-- `comptoir_enqueue(kind, args, …)` enqueues one job from plain SQL, inside
-- the caller's transaction, with the validation and defaults of the Rust
-- enqueue (src/jobs/enqueue.rs). See the README, "Enqueue from another
-- language".
CREATE TABLE comptoir_kinds (
    kind                TEXT PRIMARY KEY CHECK (kind <> ''),
    queue               TEXT     NOT NULL CHECK (queue <> ''),
    priority            SMALLINT NOT NULL,
    max_attempts        INTEGER  NOT NULL CHECK (max_attempts > 0),
    -- A concurrency limit: at most `concurrency_limit` jobs of one key run at
    -- once. The key is `kind:<kind>` when `concurrency_name` is NULL, else
    -- `<concurrency_name>:<the args' value at concurrency_pointer>` (a JSON
    -- pointer, RFC 6901).
    concurrency_name    TEXT,
    concurrency_pointer TEXT,
    concurrency_limit   INTEGER,
    -- A rate limit: at most `rate_limit` starts per `rate_period_ms` under one
    -- key, made the same way.
    rate_name           TEXT,
    rate_pointer        TEXT,
    rate_limit          INTEGER,
    rate_period_ms      BIGINT,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT comptoir_kinds_concurrency CHECK (
        (concurrency_limit IS NULL AND concurrency_name IS NULL AND concurrency_pointer IS NULL)
        OR (concurrency_limit > 0 AND (concurrency_name IS NULL) = (concurrency_pointer IS NULL)
            AND (concurrency_name IS NULL OR concurrency_name <> ''))),
    CONSTRAINT comptoir_kinds_rate CHECK (
        (rate_limit IS NULL AND rate_period_ms IS NULL AND rate_name IS NULL AND rate_pointer IS NULL)
        OR (rate_limit > 0 AND rate_period_ms > 0 AND (rate_name IS NULL) = (rate_pointer IS NULL)
            AND (rate_name IS NULL OR rate_name <> '')))
);

-- The limit key of a job of `kind` with `args`, as LimitKey::key_for makes
-- it: `kind:<kind>` without a name, else `<name>:<value>` with the value (a
-- non-empty string, a number or a boolean) read at the JSON pointer.
CREATE FUNCTION comptoir_limit_key(kind text, args jsonb, name text, pointer text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    path  text[];
    value jsonb;
    key   text;
BEGIN
    IF name IS NULL THEN
        key := 'kind:' || kind;
    ELSE
        IF pointer = '' THEN
            value := args;
        ELSIF left(pointer, 1) = '/' THEN
            SELECT array_agg(replace(replace(s.segment, '~1', '/'), '~0', '~') ORDER BY s.n) INTO path
            FROM unnest(string_to_array(substr(pointer, 2), '/')) WITH ORDINALITY AS s(segment, n);
            value := args #> coalesce(path, ARRAY['']);
        END IF;
        key := CASE jsonb_typeof(value)
            WHEN 'string' THEN CASE WHEN value #>> '{}' <> '' THEN name || ':' || (value #>> '{}') END
            WHEN 'number' THEN name || ':' || (value #>> '{}')
            WHEN 'boolean' THEN name || ':' || (value #>> '{}')
        END;
        IF key IS NULL THEN
            RAISE EXCEPTION 'comptoir_enqueue: args have no value at % for the % limit key', pointer, name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'a limit key is a non-empty string, a number or a boolean';
        END IF;
    END IF;
    IF octet_length(key) > 200 THEN
        RAISE EXCEPTION 'comptoir_enqueue: the limit key "%" is longer than 200 bytes', left(key, 40) || '…'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN key;
END;
$$;

-- Enqueues one job and returns its id; while a job holding `unique_key` is
-- alive or completed (not cancelled nor discarded), no other is made: its id
-- is returned instead. Arguments left NULL take the kind's defaults (run_at:
-- now). It runs in the caller's transaction: the job exists only if that
-- commits, and idle workers are woken then (the insert trigger's NOTIFY).
-- Bad input raises SQLSTATE 22023 (invalid_parameter_value) with an English
-- message naming the argument. `priority` and `max_attempts` are bigint so
-- that any integer a client sends finds the function (an int4 literal does
-- not cast to smallint implicitly); their ranges are checked here.
--
-- SECURITY DEFINER: an application's role needs only EXECUTE on this
-- function (granted explicitly; nobody has it by default besides the owner),
-- not INSERT on the queue's tables.
CREATE FUNCTION comptoir_enqueue(
    kind         text,
    args         jsonb,
    queue        text        DEFAULT NULL,
    priority     bigint      DEFAULT NULL,
    run_at       timestamptz DEFAULT NULL,
    unique_key   text        DEFAULT NULL,
    max_attempts bigint      DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    k          comptoir_kinds%ROWTYPE;
    v_queue    text;
    v_priority bigint;
    v_attempts bigint;
    v_run_at   timestamptz;
    v_c_key    text;
    v_r_key    text;
    v_id       bigint;
    tries      integer := 0;
BEGIN
    IF comptoir_enqueue.kind IS NULL THEN
        RAISE EXCEPTION 'comptoir_enqueue: kind must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO k FROM comptoir_kinds AS c WHERE c.kind = comptoir_enqueue.kind;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'comptoir_enqueue: unknown job kind "%"', comptoir_enqueue.kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = coalesce('known kinds: ' || (SELECT string_agg(c.kind, ', ' ORDER BY c.kind) FROM comptoir_kinds AS c),
                                  'no kind is known yet: start comptoir-worker or comptoir-web once, they list theirs');
    END IF;
    IF comptoir_enqueue.args IS NULL OR jsonb_typeof(comptoir_enqueue.args) <> 'object' THEN
        RAISE EXCEPTION 'comptoir_enqueue: args must be a JSON object, got %',
                coalesce(jsonb_typeof(comptoir_enqueue.args), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_queue := coalesce(comptoir_enqueue.queue, k.queue);
    IF btrim(v_queue, E' \t\r\n\f\013') = '' OR octet_length(v_queue) > 100 THEN
        RAISE EXCEPTION 'comptoir_enqueue: queue must be a name of 1 to 100 characters, got "%"', v_queue
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_priority := coalesce(comptoir_enqueue.priority, k.priority);
    IF v_priority NOT BETWEEN -32768 AND 32767 THEN
        RAISE EXCEPTION 'comptoir_enqueue: priority must be between -32768 and 32767, got %', v_priority
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_attempts := coalesce(comptoir_enqueue.max_attempts, k.max_attempts);
    IF v_attempts < 1 OR v_attempts > 2147483647 THEN
        RAISE EXCEPTION 'comptoir_enqueue: max_attempts must be at least 1 (and below 2^31), got %', v_attempts
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF comptoir_enqueue.unique_key = '' THEN
        RAISE EXCEPTION 'comptoir_enqueue: unique_key must not be empty (NULL for none)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_run_at := coalesce(comptoir_enqueue.run_at, now());
    IF NOT isfinite(v_run_at) OR v_run_at < '0001-01-01 00:00:00+00' OR v_run_at >= '10000-01-01 00:00:00+00' THEN
        RAISE EXCEPTION 'comptoir_enqueue: run_at must be a time between the years 1 and 9999, got %', v_run_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k.concurrency_limit IS NOT NULL THEN
        v_c_key := comptoir_limit_key(k.kind, comptoir_enqueue.args, k.concurrency_name, k.concurrency_pointer);
    END IF;
    IF k.rate_limit IS NOT NULL THEN
        v_r_key := comptoir_limit_key(k.kind, comptoir_enqueue.args, k.rate_name, k.rate_pointer);
    END IF;
    LOOP
        INSERT INTO comptoir_jobs (kind, args, queue, priority, max_attempts, run_at, state, unique_key,
                                   concurrency_key, concurrency_limit, rate_key, rate_limit, rate_period_ms)
        VALUES (k.kind, comptoir_enqueue.args, v_queue, v_priority, v_attempts, v_run_at,
                CASE WHEN v_run_at > now() THEN 'scheduled' ELSE 'available' END, comptoir_enqueue.unique_key,
                v_c_key, k.concurrency_limit, v_r_key, k.rate_limit, k.rate_period_ms)
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state NOT IN ('cancelled', 'discarded')
        DO NOTHING
        RETURNING id INTO v_id;
        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;
        SELECT j.id INTO v_id FROM comptoir_jobs AS j
        WHERE j.unique_key = comptoir_enqueue.unique_key AND j.state NOT IN ('cancelled', 'discarded');
        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;
        -- The job holding the key was cancelled or discarded meanwhile: the key is free again.
        tries := tries + 1;
        IF tries >= 3 THEN
            RAISE EXCEPTION 'comptoir_enqueue: unique key "%" is taken by a job being finished; try again',
                    comptoir_enqueue.unique_key
                USING ERRCODE = 'serialization_failure';
        END IF;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION comptoir_enqueue(text, jsonb, text, bigint, timestamptz, text, bigint) FROM PUBLIC;
