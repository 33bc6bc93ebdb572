//! quet-venue (work in progress).
