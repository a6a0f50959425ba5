-- "Every meeting between Cuba and Russia, newest first" is one range of this table's
-- primary key: a row for each pair of a meeting's countries (a <= b), and one for each
-- country with itself, so one country is a range too. Lists by country used to walk
-- the date index testing every entry, or fetch every match from the table and sort
-- it; with two countries that rarely meet, either read far more than a page.
CREATE TABLE meeting_country_pairs (
    a          text NOT NULL,
    b          text NOT NULL,
    date       date NOT NULL,
    meeting_id uuid NOT NULL,
    PRIMARY KEY (a, b, date, meeting_id)
);

-- Kept by triggers, so every path that writes meetings (API, import, COPY) keeps it.
CREATE FUNCTION meeting_country_pairs_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM meeting_country_pairs p
         USING unnest(OLD.countries) AS x(a), unnest(OLD.countries) AS y(b)
         WHERE x.a <= y.b AND p.a = x.a AND p.b = y.b
           AND p.date = OLD.date AND p.meeting_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO meeting_country_pairs (a, b, date, meeting_id)
        SELECT DISTINCT x.a, y.b, NEW.date, NEW.id
          FROM unnest(NEW.countries) AS x(a), unnest(NEW.countries) AS y(b)
         WHERE x.a <= y.b;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER meeting_country_pairs_written AFTER INSERT OR DELETE ON meetings
    FOR EACH ROW EXECUTE FUNCTION meeting_country_pairs_sync();
CREATE TRIGGER meeting_country_pairs_changed AFTER UPDATE OF countries, date ON meetings
    FOR EACH ROW
    WHEN (OLD.countries IS DISTINCT FROM NEW.countries OR OLD.date IS DISTINCT FROM NEW.date)
    EXECUTE FUNCTION meeting_country_pairs_sync();

-- Fills the table for every meeting at once: here, and after a bulk load that ran
-- with the triggers off (`chancery generate`).
CREATE FUNCTION fill_meeting_country_pairs() RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO meeting_country_pairs (a, b, date, meeting_id)
    SELECT DISTINCT x.a, y.b, m.date, m.id
      FROM meetings m, unnest(m.countries) AS x(a), unnest(m.countries) AS y(b)
     WHERE x.a <= y.b
    ON CONFLICT DO NOTHING;
$$;

SELECT fill_meeting_country_pairs();

ANALYZE meeting_country_pairs;
