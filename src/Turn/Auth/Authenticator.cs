using System.Text;
using Turn.Wire;

namespace Turn.Auth;

/// <summary>
/// The server side of the long-term credential mechanism, RFC 8489 §9.2.4, as a function of the
/// request, the client's address and the time. A known key (the allocation's) is tried first,
/// so requests on an existing allocation do not derive keys again.
/// </summary>
internal sealed class Authenticator(CredentialStore credentials, NonceService nonces)
{
    public CredentialStore Credentials => credentials;

    public NonceService Nonces => nonces;

    public AuthResult Check(in StunMessage request, StunAddress client, long nowUnixSeconds, string? knownUsername = null, CredentialKey? knownKey = null)
    {
        // 1. No integrity at all: challenge.
        int integrity = request.IntegritySha256Offset >= 0 ? request.IntegritySha256Offset : request.IntegrityOffset;
        if (integrity < 0)
        {
            return AuthResult.Fail(AuthStatus.Challenge, "no message integrity");
        }

        // 2. Integrity without the attributes it depends on: 400.
        if (!request.TryGetAttribute(StunAttributeType.Realm, out ReadOnlySpan<byte> realm) || !TextAttribute.IsValid(realm, TextAttribute.MaxTextBytes)
            || !request.TryGetAttribute(StunAttributeType.Nonce, out ReadOnlySpan<byte> nonce) || !TextAttribute.IsValid(nonce, TextAttribute.MaxTextBytes))
        {
            return AuthResult.Fail(AuthStatus.BadRequest, "REALM or NONCE missing");
        }

        string? username = ReadUsername(request, knownUsername, out bool usernameMalformed);
        if (usernameMalformed)
        {
            return AuthResult.Fail(AuthStatus.BadRequest, "USERNAME or USERHASH missing or malformed");
        }

        // 3. Password algorithms: no downgrade from what we offered (RFC 8489 §9.2.4 step 3).
        if (!TryGetPasswordAlgorithm(request, out ushort algorithm))
        {
            return AuthResult.Fail(AuthStatus.BadRequest, "PASSWORD-ALGORITHM(S) do not match what was offered");
        }

        // 4. The nonce must be ours, for this client, and fresh.
        if (!nonces.IsValid(nonce, client, nowUnixSeconds))
        {
            return AuthResult.Fail(AuthStatus.StaleNonce, "stale nonce");
        }

        if (username is null)
        {
            return AuthResult.Fail(AuthStatus.Unauthorized, "unknown USERHASH");
        }

        if (!realm.SequenceEqual(credentials.RealmUtf8))
        {
            return AuthResult.Fail(AuthStatus.Unauthorized, "wrong realm");
        }

        bool sha256 = request.IntegritySha256Offset >= 0;
        if (knownKey is not null && knownUsername == username && knownKey.PasswordAlgorithm == algorithm
            && MessageIntegrity.Verify(request.Raw, integrity, sha256, knownKey.Key))
        {
            return new AuthResult(AuthStatus.Ok, username, knownKey, sha256, "");
        }

        if (credentials.IsExpiredRestUsername(username, nowUnixSeconds))
        {
            return AuthResult.Fail(AuthStatus.Unauthorized, "expired username");
        }

        if (credentials.StaticKey(username, algorithm) is { } staticKey)
        {
            return MessageIntegrity.Verify(request.Raw, integrity, sha256, staticKey.Key)
                ? new AuthResult(AuthStatus.Ok, username, staticKey, sha256, "")
                : AuthResult.Fail(AuthStatus.Unauthorized, "integrity check failed or unknown user");
        }

        foreach (CredentialKey key in credentials.CandidateKeys(username, algorithm, nowUnixSeconds))
        {
            if (MessageIntegrity.Verify(request.Raw, integrity, sha256, key.Key))
            {
                return new AuthResult(AuthStatus.Ok, username, key, sha256, "");
            }
        }

        return AuthResult.Fail(AuthStatus.Unauthorized, "integrity check failed or unknown user");
    }

    /// <summary>The request's username; the allocation's own string when it is the same, so requests on an allocation decode nothing.</summary>
    private string? ReadUsername(in StunMessage request, string? knownUsername, out bool malformed)
    {
        malformed = false;
        if (request.TryGetAttribute(StunAttributeType.Username, out ReadOnlySpan<byte> username))
        {
            if (!TextAttribute.IsValid(username, TextAttribute.MaxUsernameBytes) || username.IsEmpty)
            {
                malformed = true;
                return null;
            }

            return knownUsername is not null && IsSame(username, knownUsername) ? knownUsername : Encoding.UTF8.GetString(username);
        }

        if (request.TryGetAttribute(StunAttributeType.UserHash, out ReadOnlySpan<byte> hash))
        {
            malformed = hash.Length != 32;
            return credentials.UserForHash(hash);
        }

        malformed = true;
        return null;
    }

    private static bool IsSame(ReadOnlySpan<byte> utf8, string known)
    {
        Span<char> decoded = stackalloc char[TextAttribute.MaxUsernameBytes];
        return Encoding.UTF8.TryGetChars(utf8, decoded, out int length) && decoded[..length].SequenceEqual(known);
    }

    private static bool TryGetPasswordAlgorithm(in StunMessage request, out ushort algorithm)
    {
        algorithm = PasswordAlgorithm.Md5;
        bool hasList = request.TryGetAttribute(StunAttributeType.PasswordAlgorithms, out ReadOnlySpan<byte> list);
        bool hasChoice = request.TryGetAttribute(StunAttributeType.PasswordAlgorithm, out ReadOnlySpan<byte> choice);
        if (!hasList && !hasChoice)
        {
            return true;
        }

        if (!hasList || !hasChoice || !PasswordAlgorithm.TryRead(choice, out algorithm))
        {
            return false;
        }

        Span<ushort> offered = stackalloc ushort[8];
        if (!PasswordAlgorithm.TryReadList(list, offered, out int count) || !offered[..count].SequenceEqual(CredentialStore.Algorithms))
        {
            return false;
        }

        return algorithm is PasswordAlgorithm.Md5 or PasswordAlgorithm.Sha256;
    }
}
