//! Read or write: the server's read-only guard depends on this.
//!
//! A request reads only if it is a request type the schema knows and its
//! name ends in `QueryRq` (every list, transaction and report query, Host,
//! Company, Preferences, TransactionQuery, …). Everything else writes: Add,
//! Mod, Del, Void, ListDel, TxnDel, DataExt*, *Display*, subscriptions,
//! QBCommandExec. An unknown name counts as a write (fail closed).

use crate::schema::Schema;
use crate::version::Version;

/// Whether a request only reads company data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Classify a request type by its element name (`CustomerQueryRq`).
pub fn access_of(request_type: &str) -> Access {
    let known = [Version::LATEST, Version::V13_0]
        .iter()
        .any(|v| Schema::for_version(*v).request(request_type).is_some());
    if known && request_type.ends_with("QueryRq") {
        Access::Read
    } else {
        Access::Write
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes() {
        for r in [
            "CustomerQueryRq",
            "HostQueryRq",
            "CompanyQueryRq",
            "PreferencesQueryRq",
            "GeneralSummaryReportQueryRq",
            "TransactionQueryRq",
            "ListDeletedQueryRq",
            "DataEventSubscriptionQueryRq",
        ] {
            assert_eq!(access_of(r), Access::Read, "{r}");
        }
        for w in [
            "CustomerAddRq",
            "CustomerModRq",
            "ListDelRq",
            "TxnDelRq",
            "TxnVoidRq",
            "DataExtAddRq",
            "DataExtDelRq",
            "TxnDisplayAddRq",
            "ListDisplayModRq",
            "DataEventSubscriptionAddRq",
            "SubscriptionDelRq",
            "NoSuchQueryRq",
            "customerqueryrq",
            "",
        ] {
            assert_eq!(access_of(w), Access::Write, "{w}");
        }
    }

    /// Every request type of both schemas is classified, and the only
    /// reads are queries: a new write type cannot slip through as a read.
    #[test]
    fn every_request_type() {
        for v in [Version::V13_0, Version::LATEST] {
            let mut reads = 0;
            for p in Schema::for_version(v).request_types() {
                let a = access_of(p.name());
                assert_eq!(
                    a == Access::Read,
                    p.name().ends_with("QueryRq"),
                    "{}",
                    p.name()
                );
                reads += usize::from(a == Access::Read);
            }
            assert!(reads > 80, "{reads}");
        }
    }
}
