using System.Collections.Frozen;
using Turn.Wire;

namespace Turn.Auth;

/// <summary>
/// Who may allocate: static users and TURN REST shared secrets (several at once, so a secret
/// can be rotated). Keys are derived per request; nothing here is written after construction.
/// </summary>
internal sealed class CredentialStore
{
    private readonly FrozenDictionary<string, string> _users;
    private readonly FrozenDictionary<string, string> _usersByHash;
    private readonly string[] _secrets;

    public CredentialStore(string realm, IReadOnlyDictionary<string, string> users, IReadOnlyList<string> secrets)
    {
        Realm = realm;
        _users = users.ToFrozenDictionary(StringComparer.Ordinal);
        _usersByHash = users.Keys.ToFrozenDictionary(u => Convert.ToHexString(LongTermKey.UserHash(u, realm)), u => u, StringComparer.Ordinal);
        _secrets = [.. secrets];
    }

    public string Realm { get; }

    public bool HasSecrets => _secrets.Length > 0;

    /// <summary>Whether the username is a static user of the configuration (the operator's own, not one minted per browser peer).</summary>
    public bool IsStaticUser(string username) => _users.ContainsKey(username);

    /// <summary>The static user a USERHASH stands for (RFC 8489 §14.4).</summary>
    public string? UserForHash(ReadOnlySpan<byte> userHash)
        => userHash.Length == 32 && _usersByHash.TryGetValue(Convert.ToHexString(userHash), out string? user) ? user : null;

    /// <summary>
    /// The keys this username may have signed with: its static password's, or one per active
    /// REST secret while the username's expiry is in the future. Empty when the user is unknown
    /// or expired.
    /// </summary>
    public List<CredentialKey> CandidateKeys(string username, ushort passwordAlgorithm, long nowUnixSeconds)
    {
        var keys = new List<CredentialKey>(1);
        if (_users.TryGetValue(username, out string? password))
        {
            Add(keys, passwordAlgorithm, username, password);
            return keys;
        }

        if (!RestCredentials.TryGetExpiry(username, out long expiry) || expiry <= nowUnixSeconds)
        {
            return keys;
        }

        foreach (string secret in _secrets)
        {
            Add(keys, passwordAlgorithm, username, RestCredentials.Password(secret, username));
        }

        return keys;
    }

    /// <summary>Whether <paramref name="username"/> is a REST username whose expiry has passed.</summary>
    public bool IsExpiredRestUsername(string username, long nowUnixSeconds)
        => !_users.ContainsKey(username) && RestCredentials.TryGetExpiry(username, out long expiry) && expiry <= nowUnixSeconds;

    private void Add(List<CredentialKey> keys, ushort passwordAlgorithm, string username, string password)
    {
        byte[]? key = LongTermKey.Derive(passwordAlgorithm, username, Realm, password);
        if (key is not null)
        {
            keys.Add(new CredentialKey(passwordAlgorithm, key));
        }
    }

    /// <summary>Whether any user could sign with SHA-256 keys; always, since keys are derived on demand.</summary>
    public static ReadOnlySpan<ushort> Algorithms => [PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256];
}
