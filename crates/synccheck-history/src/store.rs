//! The one interface both history stores give: SQLite ([`crate::sqlite`]) on the bench and
//! PostgreSQL ([`crate::pg`]) shared by several.

use crate::record::ScanRecord;
use crate::{HistoryError, ListFilter, Rescue, RescueRow, ScanRow};

pub(crate) trait Store: Send {
    /// Inserts one scan in one transaction; `before_commit` runs inside it, after the insert
    /// (the test pause of [`crate::TEST_PAUSE_ENV`]).
    fn insert(
        &mut self,
        scan: &ScanRecord,
        before_commit: &mut (dyn FnMut() + Send),
    ) -> Result<i64, HistoryError>;
    /// Rows matching `filter`, newest first.
    fn list(&mut self, filter: &ListFilter) -> Result<Vec<ScanRow>, HistoryError>;
    /// The id of `udid`'s last scan (before scan `before`).
    fn previous_id(&mut self, udid: &str, before: Option<i64>)
        -> Result<Option<i64>, HistoryError>;
    fn get(&mut self, id: i64) -> Result<Option<ScanRecord>, HistoryError>;
    /// The id of the same scan (time, bench, phone, answers and snapshot) when it is already
    /// stored: what makes `history import`, and a write retried after a lost connection, safe
    /// to run twice.
    fn find(&mut self, scan: &ScanRecord) -> Result<Option<i64>, HistoryError>;
    /// Every scan's id, oldest first.
    fn ids(&mut self) -> Result<Vec<i64>, HistoryError>;
    /// Inserts one rescue run in one transaction, recorded with `bench`.
    fn insert_rescue(&mut self, rescue: &Rescue, bench: Option<&str>) -> Result<i64, HistoryError>;
    /// Rescue runs matching `filter`, newest first.
    fn list_rescues(&mut self, filter: &ListFilter) -> Result<Vec<RescueRow>, HistoryError>;
    /// The id of the same rescue run (time, bench, phone, selection and counts) when it is
    /// already stored: what makes `history import` safe to run twice.
    fn find_rescue(
        &mut self,
        rescue: &Rescue,
        bench: Option<&str>,
    ) -> Result<Option<i64>, HistoryError>;
}
