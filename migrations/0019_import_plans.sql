-- Imports (issue 12): `write_items` (0017) planned a batch of many documents for what
-- it held, and with it every statement its inserts ran once for each row: the foreign
-- key checks (two for a participant, one for a source or an identifier) and the
-- `meetings_notify` trigger were planned anew for every row, a fifth of the database's
-- time in an import of the real data set. Now the statements that read stored rows are
-- planned for each batch, as before, and the inserts that read nothing but the batch,
-- their checks with them, take the generic plans each connection keeps. Participants
-- are placed by one statement and inserted by another, so that each gets the plans it
-- needs; the rebuilds their insert triggers set the plans for themselves.

CREATE OR REPLACE FUNCTION write_items(batch jsonb) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    named_idx int[];
    named_person uuid[];
    linked uuid[];
    -- The plans of the statements that read stored rows: see below.
    reading text := CASE WHEN jsonb_array_length(coalesce(batch->'meetings', '[]')) > 1
                         THEN 'force_custom_plan' ELSE 'force_generic_plan' END;
    -- Participants, as they are inserted.
    p_id uuid[];
    p_meeting uuid[];
    p_person uuid[];
    p_organization text[];
    p_role text[];
    p_country text[];
    p_side text[];
    p_position int[];
BEGIN
    -- PL/pgSQL keeps a plan for each statement of a function, but plans one whose
    -- parameters a plan could depend on again for their values at every call whenever
    -- that looks cheaper than the generic plan, which for one meeting it always does: the
    -- offices' rebuild planned for 1.7 ms to run for 0.2 ms, on every POST. So one
    -- document, here and in the triggers it runs until its transaction ends, takes the
    -- generic plans each connection keeps, which walk the same indexes whatever the ids.
    -- A batch of many is planned for what it holds and the tables as they are now where
    -- that matters (`reading`): the generic plan of an import into an empty database,
    -- made for its first batch, scanned whole tables for every later one.
    --
    -- The setting holds for every statement the inserts run, too: each foreign key
    -- check and each row trigger is a statement of its own, run once for every row. Under
    -- `force_custom_plan` each was planned anew for every row, a fifth of the database's
    -- time in an import. So the inserts that read nothing but the batch, and with them
    -- their rows' checks, always take the generic plans; the statements that read stored
    -- rows are planned per batch, before them.
    PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
    IF jsonb_array_length(coalesce(batch->'meetings', '[]')) > 0 THEN
        INSERT INTO meetings (id, title, summary, kind, date, end_date, start_time, city, location_country,
                              venue, lat, lon, host_country, countries, topics, document_hash, created_at, version)
        SELECT r.id, r.title, r.summary, r.kind, r.date, r.end_date, r.start_time, r.city, r.location_country,
               r.venue, r.lat, r.lon, r.host_country, r.countries, r.topics, decode(r.hash, 'hex'),
               coalesce(r.created_at, now()), r.version
          FROM jsonb_to_recordset(batch->'meetings') AS r(id uuid, title text, summary text, kind text, date date,
                   end_date date, start_time time, city text, location_country text, venue text,
                   lat double precision, lon double precision, host_country text, countries text[],
                   topics text[], hash text, created_at timestamptz, version int);
    END IF;
    IF jsonb_array_length(coalesce(batch->'sources', '[]')) > 0 THEN
        INSERT INTO sources (id, meeting_id, url, title, publisher, published_on, position)
        SELECT r.id, r.meeting_id, r.url, r.title, r.publisher, r.published_on, r.position
          FROM jsonb_to_recordset(batch->'sources') AS r(id uuid, meeting_id uuid, url text, title text,
                   publisher text, published_on date, position int);
    END IF;
    IF jsonb_array_length(coalesce(batch->'identifiers', '[]')) > 0 THEN
        INSERT INTO meeting_identifiers (meeting_id, scheme, value, position)
        SELECT r.meeting_id, r.scheme, r.value, r.position
          FROM jsonb_to_recordset(batch->'identifiers') AS r(meeting_id uuid, scheme text, value text, position int);
    END IF;

    PERFORM set_config('plan_cache_mode', reading, true);
    IF jsonb_array_length(coalesce(batch->'people', '[]')) > 0 THEN
        SELECT array_agg(f.idx), array_agg(f.person_id) INTO named_idx, named_person
          FROM resolve_people(batch->'people') f;
    END IF;
    IF jsonb_array_length(coalesce(batch->'participants', '[]')) > 0 THEN
        -- Where each goes and who it is, planned as the stored rows read call for ...
        WITH r AS MATERIALIZED (
                 SELECT * FROM jsonb_to_recordset(batch->'participants') AS r(id uuid, meeting_id uuid, idx int,
                     person_id uuid, named int, organization text, role text, country text, side text)),
             next AS MATERIALIZED (
                 SELECT m.meeting_id,
                        coalesce((SELECT max(x.position) + 1 FROM participants x WHERE x.meeting_id = m.meeting_id), 0)
                          AS position
                   FROM (SELECT DISTINCT meeting_id FROM r) m),
             placed AS (
                 SELECT r.idx, r.id, r.meeting_id, coalesce(r.person_id, named.person_id) AS person_id,
                        r.organization, r.role, r.country, r.side,
                        (row_number() OVER (PARTITION BY r.meeting_id ORDER BY r.idx))::int - 1 + next.position
                          AS position
                   FROM r JOIN next ON next.meeting_id = r.meeting_id
                   LEFT JOIN unnest(named_idx, named_person) AS named(idx, person_id) ON named.idx = r.named)
        SELECT array_agg(id ORDER BY meeting_id, idx), array_agg(meeting_id ORDER BY meeting_id, idx),
               array_agg(person_id ORDER BY meeting_id, idx), array_agg(organization ORDER BY meeting_id, idx),
               array_agg(role ORDER BY meeting_id, idx), array_agg(country ORDER BY meeting_id, idx),
               array_agg(side ORDER BY meeting_id, idx), array_agg(position ORDER BY meeting_id, idx)
          INTO p_id, p_meeting, p_person, p_organization, p_role, p_country, p_side, p_position
          FROM placed;
        -- ... and the rows themselves, with their checks, planned once.
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        INSERT INTO participants (id, meeting_id, person_id, organization, role, country, side, position)
        SELECT * FROM unnest(p_id, p_meeting, p_person, p_organization, p_role, p_country, p_side, p_position);
        PERFORM set_config('plan_cache_mode', reading, true);
    END IF;

    IF jsonb_array_length(coalesce(batch->'statements', '[]')) > 0 THEN
        -- A speaker's person is whoever their participant names (found by name only
        -- just above); else the person given; else the participant's given by id.
        WITH r AS MATERIALIZED (
                 SELECT * FROM jsonb_to_recordset(batch->'statements') AS r(id uuid, meeting_id uuid, idx int,
                     participant_id uuid, person_id uuid, speaker boolean, speaker_name text, text text,
                     kind text, language text, topics text[], source_url text, source_title text,
                     source_publisher text, source_published_on date)),
             next AS MATERIALIZED (
                 SELECT m.meeting_id,
                        coalesce((SELECT max(x.position) + 1 FROM statements x WHERE x.meeting_id = m.meeting_id), 0)
                          AS position
                   FROM (SELECT DISTINCT meeting_id FROM r) m)
        INSERT INTO statements (id, meeting_id, participant_id, person_id, speaker_name, text, kind, language,
                                topics, source_url, source_title, source_publisher, source_published_on, position)
        SELECT r.id, r.meeting_id, r.participant_id,
               coalesce(CASE WHEN r.speaker THEN p.person_id END, r.person_id, p.person_id),
               r.speaker_name, r.text, r.kind, r.language, r.topics, r.source_url, r.source_title,
               r.source_publisher, r.source_published_on,
               (row_number() OVER (PARTITION BY r.meeting_id ORDER BY r.idx))::int - 1 + next.position
          FROM r JOIN next ON next.meeting_id = r.meeting_id
          LEFT JOIN participants p ON p.id = r.participant_id;
        SELECT array_agg(r.id) INTO linked
          FROM jsonb_to_recordset(batch->'statements') AS r(id uuid, speaker_name text)
         WHERE r.speaker_name IS NOT NULL;
        IF linked IS NOT NULL THEN
            PERFORM link_speakers_by_name(linked);
        END IF;
    END IF;

    IF jsonb_array_length(coalesce(batch->'agreements', '[]')) > 0 THEN
        WITH r AS MATERIALIZED (
                 SELECT * FROM jsonb_to_recordset(batch->'agreements') AS r(id uuid, meeting_id uuid, idx int,
                     title text, description text, kind text, status text, parties text[], topics text[],
                     signed_on date, due_by date)),
             next AS MATERIALIZED (
                 SELECT m.meeting_id,
                        coalesce((SELECT max(x.position) + 1 FROM agreements x WHERE x.meeting_id = m.meeting_id), 0)
                          AS position
                   FROM (SELECT DISTINCT meeting_id FROM r) m)
        INSERT INTO agreements (id, meeting_id, title, description, kind, status, parties, topics, signed_on,
                                due_by, position)
        SELECT r.id, r.meeting_id, r.title, r.description, r.kind, r.status, r.parties, r.topics, r.signed_on,
               r.due_by, (row_number() OVER (PARTITION BY r.meeting_id ORDER BY r.idx))::int - 1 + next.position
          FROM r JOIN next ON next.meeting_id = r.meeting_id;
    END IF;
    -- Events in the order given, which is the order recorded (`seq`).
    IF jsonb_array_length(coalesce(batch->'events', '[]')) > 0 THEN
        INSERT INTO agreement_events (id, agreement_id, status, occurred_on, note, source_url, source_title,
                                      source_publisher, source_published_on, meeting_id)
        SELECT r.id, r.agreement_id, r.status, r.occurred_on, r.note, r.source_url, r.source_title,
               r.source_publisher, r.source_published_on, r.meeting_id
          FROM jsonb_to_recordset(batch->'events') AS r(id uuid, idx int, agreement_id uuid, status text,
                   occurred_on date, note text, source_url text, source_title text, source_publisher text,
                   source_published_on date, meeting_id uuid)
         ORDER BY r.idx;
    END IF;
    IF jsonb_array_length(coalesce(batch->'created_events', '[]')) > 0 THEN
        INSERT INTO agreement_events (id, agreement_id, status, occurred_on)
        SELECT c.event_id, a.id, a.status, m.date
          FROM jsonb_to_recordset(batch->'created_events') AS c(agreement_id uuid, event_id uuid, n int)
          JOIN agreements a ON a.id = c.agreement_id
          JOIN meetings m ON m.id = a.meeting_id
         ORDER BY c.n;
    END IF;

    IF jsonb_array_length(coalesce(batch->'changes', '[]')) > 0 THEN
        INSERT INTO changes (api_key_id, request_id, action, resource, resource_id, meeting_id, version)
        SELECT (batch->>'api_key_id')::uuid, batch->>'request_id', c.action, 'meeting', m.id, m.id, m.version
          FROM jsonb_to_recordset(batch->'changes') AS c(n int, action text, meeting_id uuid)
          JOIN meetings m ON m.id = c.meeting_id
         ORDER BY c.n;
    END IF;
END
$$;

-- The rebuilds the participants' insert triggers run: for many meetings at once (an
-- import batch) planned for what they hold, as `write_items` plans such a batch, and
-- the caller's setting given back after. The same statements, the same rows; the
-- summaries are built by one statement and written by another, whose foreign key
-- checks, one a meeting, take the generic plan.
CREATE OR REPLACE FUNCTION refresh_participant_summaries(meeting_ids uuid[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    plans text := current_setting('plan_cache_mode');
    ids uuid[];
    summaries json[];
BEGIN
    IF cardinality(meeting_ids) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(meeting_ids) > 1 THEN
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    END IF;
    -- Writers of one meeting take turns here (see 0005).
    PERFORM 1 FROM meetings WHERE id = ANY (meeting_ids) ORDER BY id FOR NO KEY UPDATE;
    SELECT array_agg(m.id ORDER BY m.id), array_agg(coalesce(s.participants, '[]') ORDER BY m.id)
      INTO ids, summaries
      FROM meetings m
      LEFT JOIN (SELECT p.meeting_id,
                        json_agg(json_build_object(
                                     'person_id', p.person_id,
                                     'name', coalesce(pe.name, p.organization),
                                     'role', p.role, 'country', p.country, 'side', p.side)
                                 ORDER BY p.position, p.id) AS participants
                   FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
                  WHERE p.meeting_id = ANY (meeting_ids)
                  GROUP BY p.meeting_id) s ON s.meeting_id = m.id
     WHERE m.id = ANY (meeting_ids);
    IF cardinality(meeting_ids) > 1 THEN
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
    END IF;
    INSERT INTO meeting_participant_summaries (meeting_id, participants)
    SELECT * FROM unnest(ids, summaries)
    ON CONFLICT (meeting_id) DO UPDATE SET participants = EXCLUDED.participants;
    PERFORM set_config('plan_cache_mode', plans, true);
END
$$;

CREATE OR REPLACE FUNCTION refresh_meeting_offices(meeting_ids uuid[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    plans text := current_setting('plan_cache_mode');
BEGIN
    IF cardinality(meeting_ids) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(meeting_ids) > 1 THEN
        PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    END IF;
    -- The same lock, in the same order, as the participant summaries take: writers of
    -- one meeting take turns, and the statements below see what the one before wrote.
    PERFORM 1 FROM meetings WHERE id = ANY (meeting_ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM meeting_offices WHERE meeting_id = ANY (meeting_ids);
    INSERT INTO meeting_offices (office, country, date, meeting_id)
    SELECT DISTINCT held.office, c.country, held.date, held.id
      FROM (SELECT DISTINCT m.id, m.date, m.countries, fold(r.title) AS office
              FROM meetings m
              JOIN participants p ON p.meeting_id = m.id
              JOIN roles r ON r.person_id = p.person_id AND r.held @> m.date
             WHERE m.id = ANY (meeting_ids)) held,
           unnest(array_prepend(''::text, held.countries)) AS c(country);
    PERFORM set_config('plan_cache_mode', plans, true);
END
$$;

-- Every folded name a person is known by, as 0001 has it, in PL/pgSQL: a `LANGUAGE sql`
-- function holding a subquery is never inlined, and each call planned `fold` anew
-- inside it, for each person written (two indexes call it) and each alias looked up.
-- The same arrays, so the indexes built on it stay as they are.
CREATE OR REPLACE FUNCTION person_names(name text, aliases text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF cardinality(aliases) > 0 THEN
        RETURN ARRAY[fold(name)] || ARRAY(SELECT fold(a) FROM unnest(aliases) AS a);
    END IF;
    RETURN ARRAY[fold(name)];
END
$$;
