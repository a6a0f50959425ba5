-- Event-data interop: what PLOVER and CAMEO call a meeting's topics, and one Wikidata
-- identity per person. Codes are derived when read, never stored.

-- The PLOVER context (Draft manual, "General contexts") a topic falls under, where
-- PLOVER has one: the context's own name, or a topic slug that plainly means it.
CREATE FUNCTION plover_context(topic text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN (SELECT CASE
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
    END FROM (SELECT replace(lower(topic), '_', '-') AS t) topic);

-- `diplomatic`, then the PLOVER contexts of `topics` in their order, each once.
CREATE FUNCTION plover_contexts(topics text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(
        SELECT mapped.context FROM (
            SELECT plover_context(t.topic) AS context, min(t.n) AS first
              FROM unnest(ARRAY['diplomatic'] || coalesce(topics, '{}')) WITH ORDINALITY AS t(topic, n)
             WHERE plover_context(t.topic) IS NOT NULL
             GROUP BY 1) mapped
         ORDER BY mapped.first);

-- The CAMEO "express intent to ..." code (03x) of a plan or pledge on `topics`: the
-- first topic whose PLOVER context CAMEO2PLOVER-2021.txt gives an 03 code (0311
-- economic, 0312 military, 0313 legal, 0314 intelligence → 031; 0333 humanitarian,
-- 0334 peacekeeping → 033; 034, 0342 executive, 0343 rights → 034), cut to three
-- digits; 030 ("express intent to cooperate") when none does.
CREATE FUNCTION cameo_intent(topics text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
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

-- An agreement's CAMEO code: 057 (sign formal agreement) once signed; for a plan or a
-- pledge not yet signed, its intent by topics; 030 otherwise.
CREATE FUNCTION agreement_cameo(kind text, status text, signed_on date, topics text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN signed_on IS NOT NULL OR status IN ('signed', 'in_force', 'fulfilled') THEN '057'
        WHEN kind IN ('plan', 'pledge') THEN cameo_intent(topics)
        ELSE '030'
    END;

-- A person has one Wikidata item: two would make them two people.
CREATE UNIQUE INDEX person_one_wikidata_id ON person_identifiers (person_id) WHERE scheme = 'wikidata';
