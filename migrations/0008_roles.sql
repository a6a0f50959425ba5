-- People's offices over time: roles with partial dates (`1960`, `1960-06`,
-- `1960-06-01`) kept as given, and the spans of days they derive, so "who held it on
-- this day" is an index lookup that still knows what the dates do not say.

-- The first and the last day a partial date may mean: `1960-06` is 1960-06-01 to
-- 1960-06-30. The text is checked before it is stored (`partial_date` below).
CREATE FUNCTION partial_date_first(text) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN make_date(split_part($1, '-', 1)::int,
                     coalesce(nullif(split_part($1, '-', 2), '')::int, 1),
                     coalesce(nullif(split_part($1, '-', 3), '')::int, 1));

CREATE FUNCTION partial_date_last(text) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN CASE length($1)
        WHEN 10 THEN partial_date_first($1)
        WHEN 7 THEN (partial_date_first($1) + interval '1 month' - interval '1 day')::date
        ELSE make_date(split_part($1, '-', 1)::int, 12, 31)
    END;

-- Every day a role may have been held, as far as its dates tell: from the first day
-- its start (or, unknown, its appointment) may mean to the last day its end may mean,
-- unbounded where a date is unknown. A source whose end comes before its start (the
-- import keeps such dates as recorded) spans the days between the two.
CREATE FUNCTION role_held(appointed text, started text, ended text) RETURNS daterange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT CASE WHEN s IS NOT NULL AND e IS NOT NULL AND e < s
                        THEN daterange(partial_date_first(ended), partial_date_last(coalesce(started, appointed)), '[]')
                        ELSE daterange(s, e, '[]') END
              FROM (SELECT coalesce(partial_date_first(started), partial_date_first(appointed)) AS s,
                           partial_date_last(ended) AS e) d);

-- Every day a role was certainly held: from the last day its start may mean to the
-- first day its end may mean; empty when either is unknown.
CREATE FUNCTION role_surely_held(started text, ended text) RETURNS daterange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN partial_date_last(started) <= partial_date_first(ended)
                THEN daterange(partial_date_last(started), partial_date_first(ended), '[]')
                ELSE 'empty'::daterange END;

-- A person's own dates, as partial as their source.
ALTER TABLE people
    ADD COLUMN born text CONSTRAINT person_born_partial_date
        CHECK (born ~ '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$'),
    ADD COLUMN died text CONSTRAINT person_died_partial_date
        CHECK (died ~ '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$');

CREATE TABLE roles (
    id            uuid PRIMARY KEY,
    person_id     uuid NOT NULL REFERENCES people ON DELETE CASCADE,
    title         text NOT NULL CONSTRAINT role_title_length CHECK (char_length(title) BETWEEN 1 AND 500),
    kind          text NOT NULL DEFAULT 'other' CONSTRAINT role_kind_known CHECK (kind IN (
                      'chief_of_mission', 'chief_of_mission_to_organization', 'principal_officer',
                      'head_of_state', 'head_of_government', 'minister', 'other')),
    serves        text CONSTRAINT role_serves_code CHECK (serves ~ '^[A-Z]{3}$'),
    posted_to     text CONSTRAINT role_posted_to_code CHECK (posted_to ~ '^[A-Z]{3}$'),
    organization  text CONSTRAINT role_organization_length CHECK (char_length(organization) BETWEEN 1 AND 300),
    appointed_on  text CONSTRAINT role_appointed_on_partial_date
                      CHECK (appointed_on ~ '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$'),
    started_on    text CONSTRAINT role_started_on_partial_date
                      CHECK (started_on ~ '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$'),
    ended_on      text CONSTRAINT role_ended_on_partial_date
                      CHECK (ended_on ~ '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$'),
    end_note      text CONSTRAINT role_end_note_length CHECK (char_length(end_note) <= 500),
    source        text CONSTRAINT role_source_length CHECK (char_length(source) <= 2000),
    -- The role's place among its person's roles.
    position      integer NOT NULL,
    held          daterange GENERATED ALWAYS AS (role_held(appointed_on, started_on, ended_on)) STORED,
    surely_held   daterange GENERATED ALWAYS AS (role_surely_held(started_on, ended_on)) STORED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX roles_person ON roles (person_id, position);
-- "Who held it on this day": the day is inside `held`.
CREATE INDEX roles_held ON roles USING gist (held);
-- The list's order: the first day a role may have started, then its id.
CREATE INDEX roles_sort ON roles ((coalesce(lower(held), DATE '0001-01-01')), id);
CREATE INDEX roles_posted_to ON roles (posted_to, (coalesce(lower(held), DATE '0001-01-01')), id)
    WHERE posted_to IS NOT NULL;
CREATE INDEX roles_title ON roles (fold(title));
CREATE INDEX roles_organization ON roles (fold(organization)) WHERE organization IS NOT NULL;

-- A person's history holds their roles' changes too: the person a change is about.
ALTER TABLE changes ADD COLUMN person_id uuid;
UPDATE changes SET person_id = resource_id WHERE resource = 'person';
CREATE INDEX changes_person ON changes (person_id, id) WHERE person_id IS NOT NULL;
ALTER TABLE changes DROP CONSTRAINT change_resource_known;
ALTER TABLE changes ADD CONSTRAINT change_resource_known
    CHECK (resource IN ('meeting', 'participant', 'statement', 'agreement', 'person', 'role'));

-- A meeting's document shows its participants' roles, read when it is read, so its
-- ETag must change when one of their roles does: each person counts the changes to
-- their roles, and a meeting's tag adds its participants' counts to its version.
ALTER TABLE people ADD COLUMN roles_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION roles_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people SET roles_version = roles_version + 1
     WHERE id IN (SELECT DISTINCT person_id FROM changed_roles);
    RETURN NULL;
END
$$;

CREATE TRIGGER roles_counted_on_insert AFTER INSERT ON roles
    REFERENCING NEW TABLE AS changed_roles
    FOR EACH STATEMENT EXECUTE FUNCTION roles_changed();
CREATE TRIGGER roles_counted_on_update AFTER UPDATE ON roles
    REFERENCING NEW TABLE AS changed_roles
    FOR EACH STATEMENT EXECUTE FUNCTION roles_changed();
CREATE TRIGGER roles_counted_on_delete AFTER DELETE ON roles
    REFERENCING OLD TABLE AS changed_roles
    FOR EACH STATEMENT EXECUTE FUNCTION roles_changed();
