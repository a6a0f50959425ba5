-- Writes (issue 12): the SQL functions a write or its read-back runs were planned again
-- at every query that called them. PostgreSQL inlines a `LANGUAGE sql` function only
-- when its body is a plain expression; one holding a subquery is parsed and planned
-- anew for each statement that calls it. The CAMEO code of an agreement, read back by
-- every POST, took 1.4 ms a call this way (`pgbench` of three calls: 4.1 ms; as
-- PL/pgSQL, whose plans each connection keeps: 0.19 ms). The same bodies, as PL/pgSQL:
-- the answers do not change.

CREATE OR REPLACE FUNCTION plover_context(topic text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT AS $$
DECLARE
    t text := replace(lower(topic), '_', '-');
BEGIN
    RETURN CASE
            WHEN t IN ('military', 'defense', 'defence', 'security', 'arms', 'arms-sales',
                       'arms-control', 'military-cooperation', 'disarmament') THEN 'military'
            WHEN t IN ('intelligence', 'espionage') THEN 'intelligence'
            WHEN t IN ('peacekeeping', 'peace-keeping') THEN 'peacekeeping'
            WHEN t IN ('economic', 'economy', 'trade', 'finance', 'investment', 'tourism',
                       'development', 'economic-cooperation', 'debt', 'tariffs', 'banking',
                       'industry', 'agriculture', 'transport', 'aviation', 'infrastructure')
                 THEN 'economic'
            WHEN t IN ('diplomatic', 'diplomacy', 'foreign-policy', 'bilateral-relations')
                 THEN 'diplomatic'
            WHEN t IN ('resource', 'resources', 'natural-resources', 'energy', 'oil', 'gas',
                       'mining', 'fisheries', 'territory', 'border', 'borders') THEN 'resource'
            WHEN t IN ('disease', 'health', 'covid-19', 'covid', 'pandemic', 'epidemic',
                       'public-health', 'vaccines') THEN 'disease'
            WHEN t IN ('enviro-disaster', 'environment', 'climate', 'climate-change',
                       'disaster', 'natural-disaster', 'disaster-relief') THEN 'enviro_disaster'
            WHEN t IN ('migration', 'refugees', 'immigration', 'displaced-people') THEN 'migration'
            WHEN t IN ('humanitarian', 'humanitarian-aid', 'humanitarian-assistance')
                 THEN 'humanitarian'
            WHEN t IN ('asylum') THEN 'asylum'
            WHEN t IN ('legal', 'law', 'international-law', 'justice', 'judiciary',
                       'extradition') THEN 'legal'
            WHEN t IN ('human-rights') THEN 'human_rights'
            WHEN t IN ('rights-freedoms', 'civil-rights', 'freedom-of-speech', 'press-freedom')
                 THEN 'rights_freedoms'
            WHEN t IN ('gender', 'women', 'gender-equality') THEN 'gender'
            WHEN t IN ('lgbt', 'lgbtq') THEN 'lgbt'
            WHEN t IN ('terrorism', 'counter-terrorism', 'counterterrorism') THEN 'terrorism'
            WHEN t IN ('human-security', 'food', 'food-security', 'water', 'housing')
                 THEN 'human_security'
            WHEN t IN ('religion-ethnicity', 'religion', 'ethnicity', 'minorities')
                 THEN 'religion_ethnicity'
            WHEN t IN ('executive', 'governance', 'public-administration') THEN 'executive'
            WHEN t IN ('election', 'elections') THEN 'election'
            WHEN t IN ('legislative', 'parliament', 'legislation') THEN 'legislative'
            WHEN t IN ('cbrn', 'nuclear', 'nuclear-weapons', 'non-proliferation',
                       'nonproliferation', 'chemical-weapons', 'biological-weapons') THEN 'cbrn'
            WHEN t IN ('cyber', 'cybersecurity', 'cyber-security') THEN 'cyber'
            WHEN t IN ('political-institutions', 'democracy', 'political-reform')
                 THEN 'political_institutions'
            WHEN t IN ('corruption', 'anti-corruption') THEN 'corruption'
            WHEN t IN ('crime', 'organized-crime', 'organised-crime') THEN 'crime'
            WHEN t IN ('illegal-drugs', 'drugs', 'narcotics', 'drug-trafficking')
                 THEN 'illegal_drugs'
        END;
END
$$;

CREATE OR REPLACE FUNCTION plover_contexts(topics text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN ARRAY(
        SELECT mapped.context FROM (
            SELECT plover_context(t.topic) AS context, min(t.n) AS first
              FROM unnest(ARRAY['diplomatic'] || coalesce(topics, '{}')) WITH ORDINALITY AS t(topic, n)
             WHERE plover_context(t.topic) IS NOT NULL
             GROUP BY 1) mapped
         ORDER BY mapped.first);
END
$$;

CREATE OR REPLACE FUNCTION cameo_intent(topics text[]) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN coalesce((
        SELECT code FROM (
            SELECT t.n, CASE plover_context(t.topic)
                            WHEN 'economic' THEN '031'
                            WHEN 'military' THEN '031'
                            WHEN 'legal' THEN '031'
                            WHEN 'intelligence' THEN '031'
                            WHEN 'humanitarian' THEN '033'
                            WHEN 'peacekeeping' THEN '033'
                            WHEN 'political_institutions' THEN '034'
                            WHEN 'executive' THEN '034'
                            WHEN 'rights_freedoms' THEN '034'
                        END AS code
              FROM unnest(coalesce(topics, '{}')) WITH ORDINALITY AS t(topic, n)) coded
         WHERE code IS NOT NULL ORDER BY n LIMIT 1), '030');
END
$$;

-- Called by the participant summaries' trigger for each meeting written.
CREATE OR REPLACE FUNCTION participant_summary(meeting uuid) RETURNS json
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce((SELECT json_agg(json_build_object(
                                'person_id', p.person_id,
                                'name', coalesce(pe.name, p.organization),
                                'role', p.role, 'country', p.country, 'side', p.side)
                            ORDER BY p.position, p.id)
                       FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
                      WHERE p.meeting_id = meeting), '[]');
END
$$;

-- Called by resolve_people for each name a write gives.
CREATE OR REPLACE FUNCTION find_person(person_name text, person_country text) RETURNS uuid
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce(
        (SELECT id FROM people
          WHERE fold(name) = fold(person_name) AND country IS NOT DISTINCT FROM person_country
          ORDER BY id LIMIT 1),
        (SELECT id FROM people
          WHERE person_names(name, aliases) @> ARRAY[fold(person_name)]
            AND country IS NOT DISTINCT FROM person_country
          ORDER BY id LIMIT 1));
END
$$;

-- The participant summaries of many meetings at once: one statement for a whole
-- import batch, where `participant_summary` was called once for each meeting
-- (1.6 of the 5 s an import of 7,535 documents took). The same JSON, built the
-- same way, so the summaries read as before.
CREATE OR REPLACE FUNCTION refresh_participant_summaries(meeting_ids uuid[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(meeting_ids) = 0 THEN
        RETURN;
    END IF;
    -- Writers of one meeting take turns here (see 0005).
    PERFORM 1 FROM meetings WHERE id = ANY (meeting_ids) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO meeting_participant_summaries (meeting_id, participants)
    SELECT m.id, coalesce(s.participants, '[]')
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
     WHERE m.id = ANY (meeting_ids)
    ON CONFLICT (meeting_id) DO UPDATE SET participants = EXCLUDED.participants;
END
$$;

-- The people of many names at once, each as `find_person` finds them: by folded name
-- and country, else by alias, the first by id. `n` is each name's place in `names`.
CREATE FUNCTION find_people(names text[], countries text[]) RETURNS TABLE (n int, id uuid)
    LANGUAGE sql STABLE AS $$
    SELECT w.n, coalesce(
               (SELECT pe.id FROM people pe
                 WHERE fold(pe.name) = w.folded AND pe.country IS NOT DISTINCT FROM w.country
                 ORDER BY pe.id LIMIT 1),
               (SELECT pe.id FROM people pe
                 WHERE person_names(pe.name, pe.aliases) @> ARRAY[w.folded]
                   AND pe.country IS NOT DISTINCT FROM w.country
                 ORDER BY pe.id LIMIT 1))
      FROM (SELECT u.n::int AS n, fold(u.name) AS folded, u.country
              FROM unnest(names, countries) WITH ORDINALITY AS u(name, country, n)) w
$$;

-- As 0003's, with each name looked up once in a statement for all of them rather than
-- by a function call per name and per step; only the names not found take a lock.
CREATE OR REPLACE FUNCTION resolve_people(wanted jsonb) RETURNS TABLE (idx int, person_id uuid)
    LANGUAGE plpgsql AS $$
DECLARE
    indexes int[];
    new_ids uuid[];
    names text[];
    countries text[];
    found uuid[];
BEGIN
    SELECT array_agg(w.idx ORDER BY w.idx), array_agg(w.new_id ORDER BY w.idx),
           array_agg(w.name ORDER BY w.idx), array_agg(w.country ORDER BY w.idx)
      INTO indexes, new_ids, names, countries
      FROM jsonb_to_recordset(wanted) AS w(idx int, new_id uuid, name text, country text);
    SELECT array_agg(f.id ORDER BY f.n) INTO found FROM find_people(names, countries) f;
    IF array_position(found, NULL) IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(keys.k)
           FROM (SELECT DISTINCT hashtextextended(fold(w.name) || '|' || coalesce(w.country, ''), 0) AS k
                   FROM unnest(names, countries, found) AS w(name, country, person)
                  WHERE w.person IS NULL
                  ORDER BY 1) AS keys;
        -- Under the locks, a statement sees whoever another writer created meanwhile.
        SELECT array_agg(f.id ORDER BY f.n) INTO found FROM find_people(names, countries) f;
        INSERT INTO people (id, name, country)
        SELECT DISTINCT ON (fold(w.name), w.country) w.new_id, w.name, w.country
          FROM unnest(indexes, new_ids, names, countries, found) AS w(idx, new_id, name, country, person)
         WHERE w.person IS NULL
         ORDER BY fold(w.name), w.country, w.idx;
        SELECT array_agg(f.id ORDER BY f.n) INTO found FROM find_people(names, countries) f;
    END IF;
    RETURN QUERY SELECT known.idx, known.person FROM unnest(indexes, found) AS known(idx, person);
END
$$;

-- A meeting's country pairs are written and removed once per statement, for every
-- meeting it wrote, where a row trigger ran for each: an import batch is one insert.
CREATE FUNCTION meeting_country_pairs_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO meeting_country_pairs (a, b, date, meeting_id)
    SELECT DISTINCT x.a, y.b, n.date, n.id
      FROM new_meetings n, unnest(n.countries) AS x(a), unnest(n.countries) AS y(b)
     WHERE x.a <= y.b;
    RETURN NULL;
END
$$;

CREATE FUNCTION meeting_country_pairs_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM meeting_country_pairs p
     USING old_meetings o, unnest(o.countries) AS x(a), unnest(o.countries) AS y(b)
     WHERE x.a <= y.b AND p.a = x.a AND p.b = y.b AND p.date = o.date AND p.meeting_id = o.id;
    RETURN NULL;
END
$$;

DROP TRIGGER meeting_country_pairs_written ON meetings;
CREATE TRIGGER meeting_country_pairs_on_insert AFTER INSERT ON meetings
    REFERENCING NEW TABLE AS new_meetings
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_country_pairs_inserted();
CREATE TRIGGER meeting_country_pairs_on_delete AFTER DELETE ON meetings
    REFERENCING OLD TABLE AS old_meetings
    FOR EACH STATEMENT EXECUTE FUNCTION meeting_country_pairs_deleted();

