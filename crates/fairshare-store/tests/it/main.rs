//! Store behaviour, run against every backend available (SQLite always, PostgreSQL when
//! FAIRSHARE_TEST_POSTGRES_URL is set).

mod accounts;
mod payments;
