using System.Collections.Frozen;
using Turn.Wire;

namespace Turn.Auth;

/// <summary>
/// Who may allocate: static users and TURN REST shared secrets (several at once, so a secret
/// can be rotated). A static user's keys are derived once at construction; a REST username's per
/// request. Nothing here is written after construction.
/// </summary>
internal sealed class CredentialStore
{
    private readonly FrozenDictionary<string, string> _users;
    private readonly FrozenDictionary<string, string> _usersByHash;
    private readonly FrozenDictionary<string, CredentialKey?[]> _staticKeys;
    private readonly string[] _secrets;

    public CredentialStore(string realm, IReadOnlyDictionary<string, string> users, IReadOnlyList<string> secrets)
    {
        Realm = realm;
        _users = users.ToFrozenDictionary(StringComparer.Ordinal);
        _usersByHash = users.Keys.ToFrozenDictionary(u => Convert.ToHexString(LongTermKey.UserHash(u, realm)), u => u, StringComparer.Ordinal);
        _secrets = [.. secrets];
        RealmUtf8 = System.Text.Encoding.UTF8.GetBytes(realm);

        // A static user's keys do not change: derived once, and shared by all its allocations.
        _staticKeys = users.ToFrozenDictionary(
            u => u.Key,
            u => new[] { Key(PasswordAlgorithm.Md5, u.Key, realm, u.Value), Key(PasswordAlgorithm.Sha256, u.Key, realm, u.Value) },
            StringComparer.Ordinal);
    }

    public string Realm { get; }

    /// <summary>The realm as it appears in a request, to compare without decoding.</summary>
    public byte[] RealmUtf8 { get; }

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
        if (_staticKeys.TryGetValue(username, out CredentialKey?[]? known))
        {
            if (StaticKey(known, passwordAlgorithm) is { } key)
            {
                keys.Add(key);
            }

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

    /// <summary>A static user's key for the algorithm, derived at start; null for other usernames.</summary>
    public CredentialKey? StaticKey(string username, ushort passwordAlgorithm)
        => _staticKeys.TryGetValue(username, out CredentialKey?[]? known) ? StaticKey(known, passwordAlgorithm) : null;

    private static CredentialKey? StaticKey(CredentialKey?[] known, ushort passwordAlgorithm)
        => passwordAlgorithm == PasswordAlgorithm.Sha256 ? known[1] : passwordAlgorithm == PasswordAlgorithm.Md5 ? known[0] : null;

    private void Add(List<CredentialKey> keys, ushort passwordAlgorithm, string username, string password)
    {
        if (Key(passwordAlgorithm, username, Realm, password) is { } key)
        {
            keys.Add(key);
        }
    }

    private static CredentialKey? Key(ushort passwordAlgorithm, string username, string realm, string password)
        => LongTermKey.Derive(passwordAlgorithm, username, realm, password) is { } key ? new CredentialKey(passwordAlgorithm, key) : null;

    /// <summary>Whether any user could sign with SHA-256 keys; always, since keys are derived on demand.</summary>
    public static ReadOnlySpan<ushort> Algorithms => [PasswordAlgorithm.Md5, PasswordAlgorithm.Sha256];
}
