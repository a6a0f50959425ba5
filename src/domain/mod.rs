//! The domain: the words the API speaks and the rules they keep. Nothing here knows
//! HTTP or SQL, and nothing here reaches another layer.

pub mod country;
pub mod error;
pub mod limits;
pub mod text;
pub mod vocabulary;
