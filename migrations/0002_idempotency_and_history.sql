-- Idempotency keys and the change history.

-- The response to a POST made with an `Idempotency-Key`, stored in the same transaction
-- as the write it answers, so a retry gets the same answer instead of a second write.
-- Keys belong to the API key that sent them; they expire after 24 hours.
CREATE TABLE idempotency_keys (
    api_key_id  uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    key         text NOT NULL CONSTRAINT idempotency_key_length CHECK (char_length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the method, path, query and body: the same key with another request is refused.
    fingerprint bytea NOT NULL,
    status      smallint NOT NULL,
    -- The response headers worth replaying (Location, ETag, Content-Type), as an object.
    headers     jsonb NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Every write to a meeting or to what hangs off it, and to people: which key made it,
-- in which request, and when. Rows outlive what they describe, so a deleted meeting's
-- history can still be read.
CREATE TABLE changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    -- NULL for writes made by the `chancery` command on the server itself (import, seed).
    api_key_id  uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    request_id  text,
    action      text NOT NULL CONSTRAINT change_action_known CHECK (action IN ('create', 'update', 'delete')),
    resource    text NOT NULL CONSTRAINT change_resource_known
                CHECK (resource IN ('meeting', 'participant', 'statement', 'agreement', 'person')),
    resource_id uuid NOT NULL,
    -- The meeting the change belongs to; NULL for people.
    meeting_id  uuid,
    -- The meeting's version after the change (before it, for a deletion).
    version     integer,
    -- What the client sent: a merge patch, or the item added; NULL when nothing was sent.
    request     jsonb
);

CREATE INDEX changes_meeting ON changes (meeting_id, id) WHERE meeting_id IS NOT NULL;
CREATE INDEX changes_resource ON changes (resource_id, id);
