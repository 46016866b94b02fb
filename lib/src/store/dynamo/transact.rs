//! Transactions: what each action is for, and what a cancelled transaction says.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::model::Link;

/// What one action of a transaction is for, to tell which condition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The record itself.
    Record,
    /// Taking a reference (its guard must not exist).
    NewGuard,
    /// Releasing a reference.
    OldGuard,
    /// The scope's record count.
    Count,
    /// Counting a new dependent on a linked record (which must exist), on one of its shards.
    Link(Link, u32),
    /// Releasing a linked record, on one of its shards.
    Unlink(Link, u32),
    /// Writing a new record's dependents shard.
    Shard,
    /// A record the write was decided on, which must be unchanged.
    Check,
}

/// What became of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Committed.
    Done,
    /// The action with this role failed its condition.
    ConditionFailed(Role),
    /// Another transaction touched the same items: worth retrying.
    Conflict,
}

/// What a failed `TransactWriteItems` means, if it is a cancellation or a conflict (anything
/// else is a backend failure).
pub(super) fn outcome(roles: &[Role], error: &TransactWriteItemsError) -> Option<Outcome> {
    match error {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            let reasons = cancelled.cancellation_reasons();
            if let Some(at) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                return Some(Outcome::ConditionFailed(
                    roles.get(at).copied().unwrap_or(Role::Record),
                ));
            }
            reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
                .then_some(Outcome::Conflict)
        }
        TransactWriteItemsError::TransactionInProgressException(_) => Some(Outcome::Conflict),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::{TransactionCanceledException, TransactionInProgressException};

    use super::*;
    use crate::model::Kind;

    fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
        let reasons = codes
            .iter()
            .map(|code| CancellationReason::builder().code(*code).build())
            .collect();
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(reasons))
                .build(),
        )
    }

    #[test]
    fn the_failed_condition_names_its_role() {
        let link = Link {
            kind: Kind::Group,
            id: 3,
        };
        let roles = [Role::Record, Role::NewGuard, Role::Count, Role::Link(link, 0)];
        assert_eq!(
            outcome(
                &roles,
                &cancelled(&["None", "ConditionalCheckFailed", "None", "None"])
            ),
            Some(Outcome::ConditionFailed(Role::NewGuard))
        );
        assert_eq!(
            outcome(
                &roles,
                &cancelled(&["None", "None", "None", "ConditionalCheckFailed"])
            ),
            Some(Outcome::ConditionFailed(Role::Link(link, 0)))
        );
    }

    #[test]
    fn conflicts_are_retryable_and_other_errors_are_not_outcomes() {
        let roles = [Role::Record, Role::Count];
        assert_eq!(
            outcome(&roles, &cancelled(&["None", "TransactionConflict"])),
            Some(Outcome::Conflict)
        );
        assert_eq!(
            outcome(
                &roles,
                &cancelled(&["TransactionConflict", "ConditionalCheckFailed"])
            ),
            Some(Outcome::ConditionFailed(Role::Count)),
            "a failed condition wins over a conflict: retrying cannot make it pass"
        );
        assert_eq!(
            outcome(
                &roles,
                &TransactWriteItemsError::TransactionInProgressException(
                    TransactionInProgressException::builder().build()
                )
            ),
            Some(Outcome::Conflict)
        );
        assert_eq!(outcome(&roles, &cancelled(&["ThrottlingError", "None"])), None);
    }
}
