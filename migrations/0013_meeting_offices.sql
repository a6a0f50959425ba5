-- "Meetings attended by someone holding this office on the day" (`GET
-- /v1/meetings?role=`) checked each meeting's participants against their people's roles
-- as the list was walked: at a million meetings, with thirteen titles each held by
-- thousands of people, a page cost half a second. The offices held at each meeting are
-- now kept ready, as `fold(title)` of every role whose days may include the meeting's
-- date (`held @> date`, what the filter asks), by country, rebuilt by triggers whenever
-- a meeting's participants, its date or countries, or their people's roles change.
--
-- And "who held it on this day" by country (`GET /v1/roles?on=&posted_to=`, `&serves=`)
-- intersected every role of the country with every role held that day; a GiST index on
-- both (btree_gist, shipped with PostgreSQL's contrib modules) finds the few at once.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE INDEX roles_posted_to_held ON roles USING gist (posted_to, held) WHERE posted_to IS NOT NULL;
CREATE INDEX roles_serves_held ON roles USING gist (serves, held) WHERE serves IS NOT NULL;
-- And the roles serving one country in the list's order, as `roles_posted_to` has them
-- for the country posted to: without it, a country with few roles held that day was
-- looked for along every role there is.
CREATE INDEX roles_serves ON roles (serves, (coalesce(lower(held), DATE '0001-01-01')), id)
    WHERE serves IS NOT NULL;

-- One row for each office held at a meeting with `country` '', and one more for each of
-- the meeting's countries: a page of one office's meetings, or of one office's meetings
-- with one country, is a range of the key in the list's order.
CREATE TABLE meeting_offices (
    office     text NOT NULL,
    country    text NOT NULL,
    date       date NOT NULL,
    meeting_id uuid NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    PRIMARY KEY (office, country, date, meeting_id)
);
CREATE INDEX meeting_offices_meeting ON meeting_offices (meeting_id);

-- The offices held at the meetings `meeting_ids`, afresh.
CREATE FUNCTION refresh_meeting_offices(meeting_ids uuid[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(meeting_ids) = 0 THEN
        RETURN;
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
END
$$;

CREATE FUNCTION participants_changed_offices() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_meeting_offices(ARRAY(SELECT DISTINCT meeting_id FROM new_participants));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM refresh_meeting_offices(ARRAY(
            SELECT n.meeting_id FROM new_participants n JOIN old_participants o ON o.id = n.id
             WHERE n.person_id IS DISTINCT FROM o.person_id OR n.meeting_id <> o.meeting_id
            UNION
            SELECT o.meeting_id FROM new_participants n JOIN old_participants o ON o.id = n.id
             WHERE n.person_id IS DISTINCT FROM o.person_id OR n.meeting_id <> o.meeting_id));
    ELSE
        PERFORM refresh_meeting_offices(ARRAY(
            SELECT DISTINCT o.meeting_id FROM old_participants o
             WHERE EXISTS (SELECT FROM meetings m WHERE m.id = o.meeting_id)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER participants_offices_on_insert AFTER INSERT ON participants
    REFERENCING NEW TABLE AS new_participants
    FOR EACH STATEMENT EXECUTE FUNCTION participants_changed_offices();
CREATE TRIGGER participants_offices_on_update AFTER UPDATE ON participants
    REFERENCING OLD TABLE AS old_participants NEW TABLE AS new_participants
    FOR EACH STATEMENT EXECUTE FUNCTION participants_changed_offices();
CREATE TRIGGER participants_offices_on_delete AFTER DELETE ON participants
    REFERENCING OLD TABLE AS old_participants
    FOR EACH STATEMENT EXECUTE FUNCTION participants_changed_offices();

CREATE FUNCTION meetings_redated_offices() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_meeting_offices(ARRAY(
        SELECT n.id FROM new_meetings n JOIN old_meetings o ON o.id = n.id
         WHERE n.date <> o.date OR n.countries <> o.countries));
    RETURN NULL;
END
$$;

CREATE TRIGGER meetings_offices_on_update AFTER UPDATE ON meetings
    REFERENCING OLD TABLE AS old_meetings NEW TABLE AS new_meetings
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_redated_offices();

CREATE FUNCTION roles_changed_offices() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_meeting_offices(ARRAY(
            SELECT DISTINCT p.meeting_id FROM participants p
             WHERE p.person_id IN (SELECT person_id FROM new_roles)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM refresh_meeting_offices(ARRAY(
            SELECT DISTINCT p.meeting_id FROM participants p
             WHERE p.person_id IN (SELECT person_id FROM new_roles UNION SELECT person_id FROM old_roles)));
    ELSE
        PERFORM refresh_meeting_offices(ARRAY(
            SELECT DISTINCT p.meeting_id FROM participants p
             WHERE p.person_id IN (SELECT person_id FROM old_roles)));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER roles_offices_on_insert AFTER INSERT ON roles
    REFERENCING NEW TABLE AS new_roles
    FOR EACH STATEMENT EXECUTE FUNCTION roles_changed_offices();
CREATE TRIGGER roles_offices_on_update AFTER UPDATE ON roles
    REFERENCING OLD TABLE AS old_roles NEW TABLE AS new_roles
    FOR EACH STATEMENT EXECUTE FUNCTION roles_changed_offices();
CREATE TRIGGER roles_offices_on_delete AFTER DELETE ON roles
    REFERENCING OLD TABLE AS old_roles
    FOR EACH STATEMENT EXECUTE FUNCTION roles_changed_offices();

-- Fills the table for every meeting at once: here, and after a bulk load that ran
-- with the triggers off (`chancery generate`).
CREATE FUNCTION fill_meeting_offices() RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO meeting_offices (office, country, date, meeting_id)
    SELECT DISTINCT held.office, c.country, held.date, held.id
      FROM (SELECT DISTINCT m.id, m.date, m.countries, fold(r.title) AS office
              FROM meetings m
              JOIN participants p ON p.meeting_id = m.id
              JOIN roles r ON r.person_id = p.person_id AND r.held @> m.date) held,
           unnest(array_prepend(''::text, held.countries)) AS c(country)
    ON CONFLICT DO NOTHING;
$$;

SELECT fill_meeting_offices();

ANALYZE meeting_offices;

-- A one-country list reads the pairs (a, a): the planner took `a` and `b` as
-- independent and guessed a tenth of a common country's rows, so it hashed every
-- meeting of the office rather than walk the country's newest meetings and look each
-- up. Statistics on the two together give it the real counts.
CREATE STATISTICS meeting_country_pairs_ab (mcv, dependencies) ON a, b FROM meeting_country_pairs;
ANALYZE meeting_country_pairs;
