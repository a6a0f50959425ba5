-- Imports (issue 12): 0019 gave the inserts that read only their batch the generic
-- plans each connection keeps, so that their rows' foreign key checks and triggers are
-- planned once; but the statements, agreements and their events were still inserted by
-- statements that also read stored rows (where a meeting's next item goes, whose a
-- statement is), planned for each batch, and under that setting each of their rows'
-- checks and `BEFORE INSERT` triggers was planned anew: a quarter of the database's time
-- in an import of articles like the seed's (`perf` on the import's backend: 17.6 % in
-- planning foreign key checks, 8 % in planning the meeting date triggers). Now each is
-- read first, planned for the batch, into arrays, and the rows are inserted with the
-- generic plans, as participants are. The same rows, positions and order.
--
-- And each meeting's creation is recorded with its own key and request rather than the
-- batch's, so that documents posted by different clients can be written together
-- (`api::meetings::writer`).

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
    -- Where a meeting's next statement or agreement goes, and whose each statement is.
    next_meeting uuid[];
    next_position int[];
    speaker_statement uuid[];
    speaker_person uuid[];
    -- Events recorded for agreements as they were created.
    e_id uuid[];
    e_agreement uuid[];
    e_status text[];
    e_on date[];
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
        -- Where each goes and who spoke it, planned as the stored rows read call for ...
        SELECT array_agg(m.meeting_id),
               array_agg(coalesce((SELECT max(x.position) + 1 FROM statements x WHERE x.meeting_id = m.meeting_id), 0))
          INTO next_meeting, next_position
          FROM (SELECT DISTINCT r.meeting_id FROM jsonb_to_recordset(batch->'statements') AS r(meeting_id uuid)) m;
        SELECT array_agg(r.id), array_agg(p.person_id) INTO speaker_statement, speaker_person
          FROM jsonb_to_recordset(batch->'statements') AS r(id uuid, participant_id uuid)
          JOIN participants p ON p.id = r.participant_id;
        -- ... and the rows themselves, with their checks and triggers, planned once. A
        -- speaker's person is whoever their participant names (found by name only just
        -- above); else the person given; else the participant's given by id.
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        WITH r AS MATERIALIZED (
                 SELECT * FROM jsonb_to_recordset(batch->'statements') AS r(id uuid, meeting_id uuid, idx int,
                     participant_id uuid, person_id uuid, speaker boolean, speaker_name text, text text,
                     kind text, language text, topics text[], source_url text, source_title text,
                     source_publisher text, source_published_on date))
        INSERT INTO statements (id, meeting_id, participant_id, person_id, speaker_name, text, kind, language,
                                topics, source_url, source_title, source_publisher, source_published_on, position)
        SELECT r.id, r.meeting_id, r.participant_id,
               coalesce(CASE WHEN r.speaker THEN sp.person_id END, r.person_id, sp.person_id),
               r.speaker_name, r.text, r.kind, r.language, r.topics, r.source_url, r.source_title,
               r.source_publisher, r.source_published_on,
               (row_number() OVER (PARTITION BY r.meeting_id ORDER BY r.idx))::int - 1 + next.position
          FROM r JOIN unnest(next_meeting, next_position) AS next(meeting_id, position)
                   ON next.meeting_id = r.meeting_id
          LEFT JOIN unnest(speaker_statement, speaker_person) AS sp(id, person_id) ON sp.id = r.id;
        PERFORM set_config('plan_cache_mode', reading, true);
        SELECT array_agg(r.id) INTO linked
          FROM jsonb_to_recordset(batch->'statements') AS r(id uuid, speaker_name text)
         WHERE r.speaker_name IS NOT NULL;
        IF linked IS NOT NULL THEN
            PERFORM link_speakers_by_name(linked);
        END IF;
    END IF;

    IF jsonb_array_length(coalesce(batch->'agreements', '[]')) > 0 THEN
        SELECT array_agg(m.meeting_id),
               array_agg(coalesce((SELECT max(x.position) + 1 FROM agreements x WHERE x.meeting_id = m.meeting_id), 0))
          INTO next_meeting, next_position
          FROM (SELECT DISTINCT r.meeting_id FROM jsonb_to_recordset(batch->'agreements') AS r(meeting_id uuid)) m;
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        WITH r AS MATERIALIZED (
                 SELECT * FROM jsonb_to_recordset(batch->'agreements') AS r(id uuid, meeting_id uuid, idx int,
                     title text, description text, kind text, status text, parties text[], topics text[],
                     signed_on date, due_by date))
        INSERT INTO agreements (id, meeting_id, title, description, kind, status, parties, topics, signed_on,
                                due_by, position)
        SELECT r.id, r.meeting_id, r.title, r.description, r.kind, r.status, r.parties, r.topics, r.signed_on,
               r.due_by, (row_number() OVER (PARTITION BY r.meeting_id ORDER BY r.idx))::int - 1 + next.position
          FROM r JOIN unnest(next_meeting, next_position) AS next(meeting_id, position)
                   ON next.meeting_id = r.meeting_id;
        PERFORM set_config('plan_cache_mode', reading, true);
    END IF;
    -- Events in the order given, which is the order recorded (`seq`); they read nothing
    -- stored but what their checks do.
    IF jsonb_array_length(coalesce(batch->'events', '[]')) > 0 THEN
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        INSERT INTO agreement_events (id, agreement_id, status, occurred_on, note, source_url, source_title,
                                      source_publisher, source_published_on, meeting_id)
        SELECT r.id, r.agreement_id, r.status, r.occurred_on, r.note, r.source_url, r.source_title,
               r.source_publisher, r.source_published_on, r.meeting_id
          FROM jsonb_to_recordset(batch->'events') AS r(id uuid, idx int, agreement_id uuid, status text,
                   occurred_on date, note text, source_url text, source_title text, source_publisher text,
                   source_published_on date, meeting_id uuid)
         ORDER BY r.idx;
        PERFORM set_config('plan_cache_mode', reading, true);
    END IF;
    IF jsonb_array_length(coalesce(batch->'created_events', '[]')) > 0 THEN
        SELECT array_agg(c.event_id ORDER BY c.n), array_agg(a.id ORDER BY c.n), array_agg(a.status ORDER BY c.n),
               array_agg(m.date ORDER BY c.n)
          INTO e_id, e_agreement, e_status, e_on
          FROM jsonb_to_recordset(batch->'created_events') AS c(agreement_id uuid, event_id uuid, n int)
          JOIN agreements a ON a.id = c.agreement_id
          JOIN meetings m ON m.id = a.meeting_id;
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
        INSERT INTO agreement_events (id, agreement_id, status, occurred_on)
        SELECT e.id, e.agreement_id, e.status, e.occurred_on
          FROM unnest(e_id, e_agreement, e_status, e_on) WITH ORDINALITY AS e(id, agreement_id, status, occurred_on, n)
         ORDER BY e.n;
        PERFORM set_config('plan_cache_mode', reading, true);
    END IF;

    IF jsonb_array_length(coalesce(batch->'changes', '[]')) > 0 THEN
        INSERT INTO changes (api_key_id, request_id, action, resource, resource_id, meeting_id, version)
        SELECT c.api_key_id, c.request_id, c.action, 'meeting', m.id, m.id, m.version
          FROM jsonb_to_recordset(batch->'changes') AS c(n int, action text, meeting_id uuid, api_key_id uuid,
                   request_id text)
          JOIN meetings m ON m.id = c.meeting_id
         ORDER BY c.n;
    END IF;
END
$$;
