//! quet-client (work in progress).
