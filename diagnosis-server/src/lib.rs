//! quet-server (work in progress).
