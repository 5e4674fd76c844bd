//! Ids that cross crates and are easy to mix up — a member's and an activity's are
//! both numbers, side by side in every scored item — as distinct types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id!(
    /// A person in the ledger (one or more identities).
    MemberId
);
id!(
    /// One stored contribution.
    ActivityId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_as_their_number() {
        assert_eq!("12".parse::<MemberId>().unwrap(), MemberId(12));
        assert_eq!(ActivityId(7).to_string(), "7");
        assert_eq!(serde_json::to_string(&MemberId(3)).unwrap(), "3");
    }
}
