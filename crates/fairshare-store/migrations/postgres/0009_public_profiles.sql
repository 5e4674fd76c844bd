-- What the public site shows: a partner's profile (description; services, languages
-- and regions as JSON arrays of strings) and each person's consent to be named on the
-- public pages (recognition, a partner's staff). Nobody is named without it.

ALTER TABLE organisations ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN services TEXT NOT NULL DEFAULT '[]';
ALTER TABLE organisations ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE organisations ADD COLUMN regions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE members ADD COLUMN listed BOOLEAN NOT NULL DEFAULT FALSE;
