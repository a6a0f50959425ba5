-- Counts of meetings for `GET /v1/stats/meetings` without filters, kept as writes
-- happen, so that a dashboard's chart reads a few thousand rows rather than every
-- meeting. Each write appends what it adds and takes away (one row per dimension and
-- key, `n` of +k or -k): writers never wait on one another for a shared counter. A
-- count is the sum of its rows; `store::stats::compact` folds them together now and
-- then.
--
-- The keys are those `src/store/stats.rs` groups the meetings by (a test checks
-- that both agree): year, month, kind, and each country and topic.
CREATE TABLE meeting_counts (
    dimension text   NOT NULL,
    key      text   NOT NULL,
    n        bigint NOT NULL
);
CREATE INDEX meeting_counts_by_key ON meeting_counts (dimension, key) INCLUDE (n);

CREATE FUNCTION meeting_count_keys(date date, kind text, countries text[], topics text[])
RETURNS TABLE (dimension text, key text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'year', to_char(date, 'YYYY')
    UNION ALL SELECT 'month', to_char(date, 'YYYY-MM')
    UNION ALL SELECT 'kind', kind
    UNION ALL SELECT 'country', country FROM unnest(countries) AS country
    UNION ALL SELECT 'topic', topic FROM unnest(topics) AS topic
$$;

-- Statement triggers with transition tables: one insert of counts per statement,
-- however many meetings it wrote; an update that moves no key appends nothing.
CREATE FUNCTION count_meetings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO meeting_counts (dimension, key, n)
        SELECT k.dimension, k.key, count(*)
          FROM new_rows m, meeting_count_keys(m.date, m.kind, m.countries, m.topics) k
         GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO meeting_counts (dimension, key, n)
        SELECT k.dimension, k.key, -count(*)
          FROM old_rows m, meeting_count_keys(m.date, m.kind, m.countries, m.topics) k
         GROUP BY 1, 2;
    ELSE
        INSERT INTO meeting_counts (dimension, key, n)
        SELECT dimension, key, sum(n)
          FROM (SELECT k.dimension, k.key, 1 AS n
                  FROM new_rows m, meeting_count_keys(m.date, m.kind, m.countries, m.topics) k
                UNION ALL
                SELECT k.dimension, k.key, -1
                  FROM old_rows m, meeting_count_keys(m.date, m.kind, m.countries, m.topics) k) moved
         GROUP BY 1, 2
        HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER meetings_count_inserted
    AFTER INSERT ON meetings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_meetings();
CREATE TRIGGER meetings_count_updated
    AFTER UPDATE ON meetings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_meetings();
CREATE TRIGGER meetings_count_deleted
    AFTER DELETE ON meetings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_meetings();

-- The meetings already stored.
INSERT INTO meeting_counts (dimension, key, n)
SELECT k.dimension, k.key, count(*)
  FROM meetings m, meeting_count_keys(m.date, m.kind, m.countries, m.topics) k
 GROUP BY 1, 2;
