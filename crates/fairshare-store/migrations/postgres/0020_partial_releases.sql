-- A Big Mac release with markedly fewer countries than the one before it, stored
-- because the operator asked for it (--partial): never in force until published by hand.
ALTER TABLE bigmac_releases ADD COLUMN partial BOOLEAN NOT NULL DEFAULT FALSE;
