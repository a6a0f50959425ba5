-- Writers naming only people who already exist take no lock: the advisory locks of
-- resolve_people serialise every writer naming the same person until it commits, which
-- made concurrent writes about the same people run one at a time. Only creating a
-- person needs them, and people are never deleted, so a person found stays found.
CREATE OR REPLACE FUNCTION resolve_people(wanted jsonb) RETURNS TABLE (idx int, person_id uuid)
    LANGUAGE plpgsql AS $$
DECLARE
    indexes int[];
    found uuid[];
BEGIN
    SELECT array_agg(w.idx ORDER BY w.idx), array_agg(find_person(w.name, w.country) ORDER BY w.idx)
      INTO indexes, found
      FROM jsonb_to_recordset(wanted) AS w(idx int, name text, country text);
    IF array_position(found, NULL) IS NULL THEN
        RETURN QUERY SELECT known.idx, known.person_id FROM unnest(indexes, found) AS known(idx, person_id);
        RETURN;
    END IF;
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

-- A list filtered by country, topic or kind, newest first, walks this index backwards
-- and tests each entry's countries, topics and kind in the index itself; only the
-- page's meetings are then read. Without the included columns every entry walked was a
-- random read of the table, and a filter matching one meeting in two hundred read
-- thousands of them for one page.
DROP INDEX meetings_by_date;
CREATE INDEX meetings_by_date ON meetings (date, id) INCLUDE (countries, topics, kind);
