-- Chancery's data model: meetings, the people who took part, what they said and what
-- they agreed. Every rule a client can break is a named constraint, so the API can
-- tell the client which rule it broke.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Case- and accent-folded text for matching ("diaz-canel" finds "Díaz-Canel").
-- unaccent() is only STABLE because its dictionary could be swapped; naming the
-- dictionary pins it, which makes the wrapper safe to index.
CREATE FUNCTION fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

-- Every folded name a person is known by: the name and each alias.
CREATE FUNCTION person_names(name text, aliases text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY[fold(name)] || ARRAY(SELECT fold(a) FROM unnest(aliases) AS a);

-- One folded string of all a person's names, for substring search.
CREATE FUNCTION person_search_text(name text, aliases text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(person_names(name, aliases), ' ');

-- The text search configuration for a BCP 47 language tag: stemming where Postgres
-- has a stemmer for the language, plain words otherwise.
CREATE FUNCTION search_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE split_part(lower(coalesce(language, '')), '-', 1)
        WHEN 'en' THEN 'english'::regconfig
        WHEN 'es' THEN 'spanish'::regconfig
        WHEN 'ru' THEN 'russian'::regconfig
        WHEN 'fr' THEN 'french'::regconfig
        WHEN 'de' THEN 'german'::regconfig
        WHEN 'pt' THEN 'portuguese'::regconfig
        WHEN 'it' THEN 'italian'::regconfig
        WHEN 'nl' THEN 'dutch'::regconfig
        WHEN 'ar' THEN 'arabic'::regconfig
        WHEN 'tr' THEN 'turkish'::regconfig
        ELSE 'simple'::regconfig
    END;

-- A search vector holding both the stemmed words of the text's own language and the
-- plain words, so a query in any language finds the text by its exact words and an
-- English query also finds inflected forms.
CREATE FUNCTION search_vector(body text, language text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector(search_config(language), fold(coalesce(body, '')))
        || to_tsvector('simple'::regconfig, fold(coalesce(body, '')));

CREATE TABLE people (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CONSTRAINT person_name_length CHECK (char_length(name) BETWEEN 1 AND 300),
    country     text CONSTRAINT person_country_code CHECK (country ~ '^[A-Z]{3}$'),
    aliases     text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_folded_name ON people (fold(name), country);
-- Looked up on every write that names people: no pending list to scan.
CREATE INDEX people_names ON people USING gin (person_names(name, aliases)) WITH (fastupdate = off);
CREATE INDEX people_search_text ON people USING gin (person_search_text(name, aliases) gin_trgm_ops);
CREATE INDEX people_sort ON people (fold(name), id);

CREATE TABLE person_identifiers (
    person_id   uuid NOT NULL REFERENCES people ON DELETE CASCADE,
    scheme      text NOT NULL CONSTRAINT person_identifier_scheme CHECK (char_length(scheme) BETWEEN 1 AND 64),
    value       text NOT NULL CONSTRAINT person_identifier_value CHECK (char_length(value) BETWEEN 1 AND 300),
    CONSTRAINT person_identifier_key PRIMARY KEY (scheme, value)
);
CREATE INDEX person_identifiers_person ON person_identifiers (person_id);

CREATE TABLE meetings (
    id                uuid PRIMARY KEY,
    title             text NOT NULL CONSTRAINT meeting_title_length CHECK (char_length(title) BETWEEN 1 AND 500),
    summary           text CONSTRAINT meeting_summary_length CHECK (char_length(summary) <= 20000),
    kind              text NOT NULL DEFAULT 'other' CONSTRAINT meeting_kind_known CHECK (kind IN (
                          'bilateral', 'multilateral', 'summit', 'state_visit', 'official_visit',
                          'official_working_visit', 'working_visit', 'private_visit', 'visit',
                          'phone_call', 'video_call', 'other')),
    date              date NOT NULL,
    end_date          date,
    start_time        time,
    city              text CONSTRAINT meeting_city_length CHECK (char_length(city) <= 200),
    location_country  text CONSTRAINT meeting_location_country_code CHECK (location_country ~ '^[A-Z]{3}$'),
    venue             text CONSTRAINT meeting_venue_length CHECK (char_length(venue) <= 500),
    lat               double precision CONSTRAINT meeting_lat_range CHECK (lat BETWEEN -90 AND 90),
    lon               double precision CONSTRAINT meeting_lon_range CHECK (lon BETWEEN -180 AND 180),
    host_country      text CONSTRAINT meeting_host_country_code CHECK (host_country ~ '^[A-Z]{3}$'),
    -- Derived: host, location and every participant's country, sorted and distinct.
    countries         text[] NOT NULL DEFAULT '{}',
    topics            text[] NOT NULL DEFAULT '{}',
    search            tsvector GENERATED ALWAYS AS (
                          search_vector(title || ' ' || coalesce(summary, ''), 'en')) STORED,
    -- The hash of the document as last imported, cleared by any later edit, so a
    -- re-import in upsert mode can tell that nothing changed.
    document_hash     bytea,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1,
    CONSTRAINT meeting_dates_ordered CHECK (end_date >= date)
);
CREATE INDEX meetings_by_date ON meetings (date, id);
CREATE INDEX meetings_countries ON meetings USING gin (countries);
CREATE INDEX meetings_topics ON meetings USING gin (topics);
CREATE INDEX meetings_kind ON meetings (kind, date, id);
CREATE INDEX meetings_city ON meetings (fold(city));
CREATE INDEX meetings_search ON meetings USING gin (search);

CREATE TABLE meeting_identifiers (
    meeting_id  uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    scheme      text NOT NULL CONSTRAINT meeting_identifier_scheme CHECK (char_length(scheme) BETWEEN 1 AND 64),
    value       text NOT NULL CONSTRAINT meeting_identifier_value CHECK (char_length(value) BETWEEN 1 AND 300),
    position    integer NOT NULL,
    CONSTRAINT meeting_identifier_key PRIMARY KEY (scheme, value)
);
CREATE INDEX meeting_identifiers_meeting ON meeting_identifiers (meeting_id);

CREATE TABLE sources (
    id            uuid PRIMARY KEY,
    meeting_id    uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    url           text CONSTRAINT source_url_length CHECK (char_length(url) <= 2000),
    title         text CONSTRAINT source_title_length CHECK (char_length(title) <= 500),
    publisher     text CONSTRAINT source_publisher_length CHECK (char_length(publisher) <= 300),
    published_on  date,
    position      integer NOT NULL
);
CREATE INDEX sources_meeting ON sources (meeting_id, position);

CREATE TABLE participants (
    id            uuid PRIMARY KEY,
    meeting_id    uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    person_id     uuid REFERENCES people ON DELETE RESTRICT,
    organization  text CONSTRAINT participant_organization_length CHECK (char_length(organization) BETWEEN 1 AND 300),
    role          text CONSTRAINT participant_role_length CHECK (char_length(role) BETWEEN 1 AND 300),
    country       text CONSTRAINT participant_country_code CHECK (country ~ '^[A-Z]{3}$'),
    side          text CONSTRAINT participant_side_known CHECK (side IN ('host', 'guest', 'mediator', 'observer')),
    position      integer NOT NULL,
    CONSTRAINT participant_is_someone CHECK (person_id IS NOT NULL OR organization IS NOT NULL)
);
CREATE INDEX participants_meeting ON participants (meeting_id, position);
CREATE INDEX participants_person ON participants (person_id, meeting_id);

CREATE TABLE statements (
    id              uuid PRIMARY KEY,
    meeting_id      uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    participant_id  uuid REFERENCES participants ON DELETE SET NULL,
    person_id       uuid REFERENCES people ON DELETE RESTRICT,
    speaker_name    text CONSTRAINT statement_speaker_name_length CHECK (char_length(speaker_name) BETWEEN 1 AND 300),
    text            text NOT NULL CONSTRAINT statement_text_length CHECK (char_length(text) BETWEEN 1 AND 20000),
    kind            text NOT NULL DEFAULT 'quote' CONSTRAINT statement_kind_known CHECK (kind IN (
                        'quote', 'paraphrase', 'joint_statement', 'press_release')),
    language        text CONSTRAINT statement_language_tag CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
    topics          text[] NOT NULL DEFAULT '{}',
    source_url      text CONSTRAINT statement_source_url_length CHECK (char_length(source_url) <= 2000),
    source_title    text CONSTRAINT statement_source_title_length CHECK (char_length(source_title) <= 500),
    source_publisher text CONSTRAINT statement_source_publisher_length CHECK (char_length(source_publisher) <= 300),
    source_published_on date,
    position        integer NOT NULL,
    search          tsvector GENERATED ALWAYS AS (search_vector(text, language)) STORED
);
CREATE INDEX statements_meeting ON statements (meeting_id, position);
CREATE INDEX statements_person ON statements (person_id);
CREATE INDEX statements_participant ON statements (participant_id);
CREATE INDEX statements_topics ON statements USING gin (topics);
CREATE INDEX statements_search ON statements USING gin (search);

CREATE TABLE agreements (
    id           uuid PRIMARY KEY,
    meeting_id   uuid NOT NULL REFERENCES meetings ON DELETE CASCADE,
    title        text NOT NULL CONSTRAINT agreement_title_length CHECK (char_length(title) BETWEEN 1 AND 500),
    description  text CONSTRAINT agreement_description_length CHECK (char_length(description) <= 20000),
    kind         text NOT NULL DEFAULT 'other' CONSTRAINT agreement_kind_known CHECK (kind IN (
                     'treaty', 'mou', 'contract', 'joint_declaration', 'pledge', 'plan', 'other')),
    status       text NOT NULL DEFAULT 'agreed' CONSTRAINT agreement_status_known CHECK (status IN (
                     'proposed', 'agreed', 'signed', 'in_force', 'fulfilled', 'lapsed', 'withdrawn')),
    parties      text[] NOT NULL DEFAULT '{}',
    topics       text[] NOT NULL DEFAULT '{}',
    signed_on    date,
    due_by       date,
    position     integer NOT NULL,
    search       tsvector GENERATED ALWAYS AS (
                     search_vector(title || ' ' || coalesce(description, ''), 'en')) STORED
);
CREATE INDEX agreements_meeting ON agreements (meeting_id, position);
CREATE INDEX agreements_parties ON agreements USING gin (parties);
CREATE INDEX agreements_topics ON agreements USING gin (topics);
CREATE INDEX agreements_status ON agreements (status, due_by);
CREATE INDEX agreements_due_by ON agreements (due_by);
CREATE INDEX agreements_search ON agreements USING gin (search);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CONSTRAINT api_key_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
    scope       text NOT NULL CONSTRAINT api_key_scope_known CHECK (scope IN ('read', 'write', 'admin')),
    -- SHA-256 of the key's secret part; keys are 256-bit random, so a fast hash suffices.
    secret_hash bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- The person with this folded name or alias and this country, if any.
CREATE FUNCTION find_person(person_name text, person_country text) RETURNS uuid
    LANGUAGE sql STABLE
    RETURN coalesce(
        (SELECT id FROM people
          WHERE fold(name) = fold(person_name) AND country IS NOT DISTINCT FROM person_country
          ORDER BY id LIMIT 1),
        (SELECT id FROM people
          WHERE person_names(name, aliases) @> ARRAY[fold(person_name)]
            AND country IS NOT DISTINCT FROM person_country
          ORDER BY id LIMIT 1));

-- Finds or creates the person for each wanted (idx, new_id, name, country). Advisory
-- locks, taken in one fixed order, make concurrent writers naming the same new person
-- create it once, and never deadlock on each other.
CREATE FUNCTION resolve_people(wanted jsonb) RETURNS TABLE (idx int, person_id uuid)
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(keys.k)
       FROM (SELECT DISTINCT hashtextextended(fold(w.name) || '|' || coalesce(w.country, ''), 0) AS k
               FROM jsonb_to_recordset(wanted) AS w(name text, country text)
              ORDER BY 1) AS keys;
    INSERT INTO people (id, name, country)
    SELECT DISTINCT ON (fold(w.name), w.country) w.new_id, w.name, w.country
      FROM jsonb_to_recordset(wanted) AS w(idx int, new_id uuid, name text, country text)
     WHERE find_person(w.name, w.country) IS NULL
     ORDER BY fold(w.name), w.country, w.idx;
    RETURN QUERY
    SELECT w.idx, find_person(w.name, w.country)
      FROM jsonb_to_recordset(wanted) AS w(idx int, new_id uuid, name text, country text);
END
$$;

-- Recomputes a meeting's derived country list after its participants change.
CREATE FUNCTION refresh_meeting_countries(meeting uuid) RETURNS void
    LANGUAGE sql AS $$
    UPDATE meetings m SET countries = ARRAY(
        SELECT DISTINCT c FROM (
            SELECT m.host_country AS c
            UNION ALL SELECT m.location_country
            UNION ALL SELECT p.country FROM participants p WHERE p.meeting_id = m.id
        ) all_countries WHERE c IS NOT NULL ORDER BY c)
    WHERE m.id = meeting;
$$;

-- JSON is built where the data is: one round trip returns a whole document.
CREATE FUNCTION participant_json(p participants) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'id', p.id,
        'meeting_id', p.meeting_id,
        'person', (SELECT json_build_object('id', pe.id, 'name', pe.name) FROM people pe WHERE pe.id = p.person_id),
        'role', p.role,
        'country', p.country,
        'organization', p.organization,
        'side', p.side);

CREATE FUNCTION statement_json(s statements) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'id', s.id,
        'meeting_id', s.meeting_id,
        'speaker', CASE WHEN s.participant_id IS NULL AND s.person_id IS NULL AND s.speaker_name IS NULL THEN NULL
                   ELSE json_build_object(
                       'participant_id', s.participant_id,
                       'person_id', s.person_id,
                       'name', coalesce((SELECT pe.name FROM people pe WHERE pe.id = s.person_id),
                                        (SELECT p.organization FROM participants p WHERE p.id = s.participant_id),
                                        s.speaker_name)) END,
        'text', s.text,
        'kind', s.kind,
        'language', s.language,
        'topics', s.topics,
        'source', CASE WHEN s.source_url IS NULL AND s.source_title IS NULL AND s.source_publisher IS NULL
                            AND s.source_published_on IS NULL THEN NULL
                  ELSE json_build_object('url', s.source_url, 'title', s.source_title,
                                         'publisher', s.source_publisher, 'published_on', s.source_published_on) END);

CREATE FUNCTION agreement_json(a agreements) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'id', a.id,
        'meeting_id', a.meeting_id,
        'title', a.title,
        'description', a.description,
        'kind', a.kind,
        'status', a.status,
        'parties', a.parties,
        'topics', a.topics,
        'signed_on', a.signed_on,
        'due_by', a.due_by);

CREATE FUNCTION meeting_location_json(m meetings) RETURNS json
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN m.city IS NULL AND m.location_country IS NULL AND m.venue IS NULL
                     AND m.lat IS NULL AND m.lon IS NULL THEN NULL
           ELSE json_build_object('city', m.city, 'country', m.location_country, 'venue', m.venue,
                                  'lat', m.lat, 'lon', m.lon) END;

CREATE FUNCTION meeting_document(m meetings) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'id', m.id,
        'title', m.title,
        'summary', m.summary,
        'kind', m.kind,
        'date', m.date,
        'end_date', m.end_date,
        'start_time', m.start_time,
        'location', meeting_location_json(m),
        'host_country', m.host_country,
        'countries', m.countries,
        'topics', m.topics,
        'participants', coalesce((SELECT json_agg(participant_json(p) ORDER BY p.position, p.id)
                                  FROM participants p WHERE p.meeting_id = m.id), '[]'),
        'statements', coalesce((SELECT json_agg(statement_json(s) ORDER BY s.position, s.id)
                                FROM statements s WHERE s.meeting_id = m.id), '[]'),
        'agreements', coalesce((SELECT json_agg(agreement_json(a) ORDER BY a.position, a.id)
                                FROM agreements a WHERE a.meeting_id = m.id), '[]'),
        'sources', coalesce((SELECT json_agg(json_build_object('url', so.url, 'title', so.title,
                                 'publisher', so.publisher, 'published_on', so.published_on)
                                 ORDER BY so.position)
                             FROM sources so WHERE so.meeting_id = m.id), '[]'),
        'identifiers', coalesce((SELECT json_agg(json_build_object('scheme', i.scheme, 'value', i.value)
                                     ORDER BY i.position)
                                 FROM meeting_identifiers i WHERE i.meeting_id = m.id), '[]'),
        'created_at', m.created_at,
        'updated_at', m.updated_at,
        'version', m.version);

-- A list item: the meeting without statements and agreements, with who took part.
CREATE FUNCTION meeting_summary(m meetings) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'id', m.id,
        'title', m.title,
        'summary', m.summary,
        'kind', m.kind,
        'date', m.date,
        'end_date', m.end_date,
        'location', meeting_location_json(m),
        'host_country', m.host_country,
        'countries', m.countries,
        'topics', m.topics,
        'participants', coalesce((SELECT json_agg(json_build_object(
                                         'person_id', p.person_id,
                                         'name', coalesce(pe.name, p.organization),
                                         'role', p.role, 'country', p.country, 'side', p.side)
                                     ORDER BY p.position, p.id)
                                  FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
                                  WHERE p.meeting_id = m.id), '[]'),
        'version', m.version);

CREATE FUNCTION person_json(pe people) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'id', pe.id,
        'name', pe.name,
        'aliases', pe.aliases,
        'country', pe.country,
        'identifiers', coalesce((SELECT json_agg(json_build_object('scheme', i.scheme, 'value', i.value)
                                     ORDER BY i.scheme, i.value)
                                 FROM person_identifiers i WHERE i.person_id = pe.id), '[]'),
        'meeting_count', (SELECT count(DISTINCT p.meeting_id) FROM participants p WHERE p.person_id = pe.id));

-- A meeting as a document clients can POST or import: no ids, people by name,
-- speakers by their index among the participants. Export → import → export gives
-- the same documents.
CREATE FUNCTION meeting_export(m meetings) RETURNS json
    LANGUAGE sql STABLE
    RETURN json_build_object(
        'title', m.title,
        'summary', m.summary,
        'kind', m.kind,
        'date', m.date,
        'end_date', m.end_date,
        'start_time', m.start_time,
        'location', meeting_location_json(m),
        'host_country', m.host_country,
        'topics', m.topics,
        'participants', coalesce((
            SELECT json_agg(json_build_object(
                       'name', pe.name, 'organization', p.organization, 'role', p.role,
                       'country', p.country, 'side', p.side)
                   ORDER BY p.position, p.id)
              FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
             WHERE p.meeting_id = m.id), '[]'),
        'statements', coalesce((
            SELECT json_agg(json_build_object(
                       'speaker_participant', speaker.index,
                       'speaker_name', CASE WHEN speaker.index IS NULL
                                            THEN coalesce(pe.name, s.speaker_name) END,
                       'text', s.text, 'kind', s.kind, 'language', s.language, 'topics', s.topics,
                       'source', statement_json(s)->'source')
                   ORDER BY s.position, s.id)
              FROM statements s
              LEFT JOIN people pe ON pe.id = s.person_id
              LEFT JOIN LATERAL (
                  SELECT (SELECT count(*) FROM participants earlier
                           WHERE earlier.meeting_id = p.meeting_id
                             AND (earlier.position, earlier.id) < (p.position, p.id))::int AS index
                    FROM participants p WHERE p.id = s.participant_id) speaker ON true
             WHERE s.meeting_id = m.id), '[]'),
        'agreements', coalesce((
            SELECT json_agg(agreement_json(a)::jsonb - 'id' - 'meeting_id' ORDER BY a.position, a.id)
              FROM agreements a WHERE a.meeting_id = m.id), '[]'),
        'sources', coalesce((
            SELECT json_agg(json_build_object('url', so.url, 'title', so.title,
                                              'publisher', so.publisher, 'published_on', so.published_on)
                            ORDER BY so.position)
              FROM sources so WHERE so.meeting_id = m.id), '[]'),
        'identifiers', coalesce((
            SELECT json_agg(json_build_object('scheme', i.scheme, 'value', i.value) ORDER BY i.position)
              FROM meeting_identifiers i WHERE i.meeting_id = m.id), '[]'));

-- How well a meeting matches a search: its best match among its own text, its
-- statements and its agreements.
CREATE FUNCTION meeting_rank(m meetings, query tsquery) RETURNS real
    LANGUAGE sql STABLE
    RETURN greatest(
        ts_rank(m.search, query),
        coalesce((SELECT max(ts_rank(s.search, query)) FROM statements s
                   WHERE s.meeting_id = m.id AND s.search @@ query), 0),
        coalesce((SELECT max(ts_rank(a.search, query)) FROM agreements a
                   WHERE a.meeting_id = m.id AND a.search @@ query), 0));

-- Plain words without case or accents, for marking matches in the original text.
CREATE TEXT SEARCH CONFIGURATION folded (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION folded ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
