//! quet-web (work in progress).
