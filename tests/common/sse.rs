//! Server-Sent Events as the HTML standard reads them, for the tests that read the
//! change stream: a block ends at a blank line; `:` starts a comment; a field's value
//! loses one leading space; several `data` lines join with newlines.

/// One block of a stream: an event when it has data, and the comments it carried.
#[derive(Debug, Default)]
pub struct Block {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub retry: Option<u64>,
    pub comments: Vec<String>,
}

/// Reads one block (its text without the blank line that ends it).
pub fn block(text: &str) -> Block {
    let mut block = Block::default();
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            block.comments.push(comment.trim().to_owned());
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => data.push(value),
            "id" => block.id = Some(value.to_owned()),
            "event" => block.event = Some(value.to_owned()),
            "retry" => block.retry = value.parse().ok().or(block.retry),
            _ => {}
        }
    }
    if !data.is_empty() {
        block.data = Some(data.join("\n"));
    }
    block
}

/// Takes the whole blocks off the front of `text`, leaving a block still arriving.
pub fn take_blocks(text: &mut String) -> Vec<Block> {
    let mut blocks = Vec::new();
    while let Some(end) = text.find("\n\n") {
        let whole: String = text.drain(..end + 2).collect();
        blocks.push(block(&whole));
    }
    blocks
}
