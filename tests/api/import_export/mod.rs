//! Bulk import and export, the dashboard counts, and the real data set through both.

mod export_stats;
mod hsg;
mod import;
mod plover;
mod pocom;
