//! Helpers shared by the unit tests.

/// Advances a xorshift64 generator (shifts 13, 7, 17) and returns its new
/// state: the same numbers on every run, from any nonzero seed.
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
