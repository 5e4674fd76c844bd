//! The pure domain of Fairshare.
//!
//! Every rule of the programme lives here, as types and pure functions: fair amounts,
//! scoring, eligibility, the partner lifecycle (`lifecycle`), the ranking (`ranking`),
//! who may decide a reviewed request (`requests`) and what would move an organisation
//! up (`advice`). Everything is deterministic computation over values handed in by the
//! caller: no I/O, no clock, no SQL, no HTTP. Storage (`fairshare-store`), importers
//! (`fairshare-import`) and the interfaces (`fairshare-web`, `fairshare-cli`) feed this
//! crate plain values and persist or show what it returns.

pub mod activity;
pub mod advice;
pub mod attribution;
pub mod bigmac;
pub mod compliance;
pub mod country;
pub mod decimal_text;
pub mod eligibility;
pub mod identity;
pub mod ids;
pub mod iso_date;
pub mod lifecycle;
pub mod links;
pub mod money;
pub mod month;
pub mod programme;
pub mod ranking;
pub mod rates;
pub mod requests;
pub mod schedule;
pub mod scoring;
pub mod sources;
pub mod threshold;

pub use activity::ActivityKind;
pub use attribution::{Affiliation, AttributionInput, DomainIndex, OrgId, Reason, attribute};
pub use bigmac::{BigMacPrice, Release};
pub use country::{CountryCode, CurrencyCode, ParseCodeError};
pub use identity::{IdentityKey, IdentityKind};
pub use ids::{ActivityId, MemberId};
pub use lifecycle::PartnerStatus;
pub use money::{Money, MoneyError};
pub use month::Month;
pub use programme::ProgrammeRules;
pub use rates::{Conversion, DollarRates, RateBasis, RateError, RateTable};
pub use requests::{Decider, Refusal, RequestKind, RequestState, Verdict};
pub use threshold::{
    Basis, ComparableMapping, EuroAreaRule, PriceSubmission, Rounding, RoundingMode, Threshold,
    ThresholdError, ThresholdPolicy, compute_thresholds,
};
