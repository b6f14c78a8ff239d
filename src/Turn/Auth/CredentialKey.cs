namespace Turn.Auth;

/// <summary>
/// A long-term key and how it was derived (RFC 8489 §9.2.2): MD5 or SHA-256 of
/// username:realm:password, as PASSWORD-ALGORITHM said.
/// </summary>
internal sealed record CredentialKey(ushort PasswordAlgorithm, byte[] Key)
{
    public bool Matches(CredentialKey other)
        => PasswordAlgorithm == other.PasswordAlgorithm && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Key, other.Key);
}
