//! The domain: the words the API speaks, the inputs clients send and the rules they
//! keep. Nothing here knows HTTP or SQL, and nothing here reaches another layer.

pub mod agreement;
pub mod country;
pub mod error;
pub mod limits;
pub mod meeting;
pub mod participant;
pub mod person;
pub mod role;
pub mod statement;
pub mod text;
pub mod vocabulary;
pub mod wikidata;
