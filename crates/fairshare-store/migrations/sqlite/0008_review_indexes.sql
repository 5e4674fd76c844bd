-- Indexes for the monthly review, which scores a month and checks every partner's
-- payments.
--
-- A month's scores count activities per organisation, member, kind, channel and team:
-- with those columns in the time index, scoring a month reads only this index and
-- never the wider activity rows (titles, URLs). It replaces the plain time index.

DROP INDEX activities_time;
CREATE INDEX activities_month ON activities (occurred_at, org_id, member_id, kind, channel, team);

-- A partner's domains and sponsor accounts, looked up once per partner.
CREATE INDEX org_domains_org ON org_domains (org_id);
CREATE INDEX sponsor_accounts_org ON sponsor_accounts (org_id);
