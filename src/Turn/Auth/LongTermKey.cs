using System.Security.Cryptography;
using System.Text;
using Turn.Wire;

// RFC 8489 §9.2.2 fixes MD5 as the default key algorithm; every TURN client relies on it.
#pragma warning disable CA5351

namespace Turn.Auth;

/// <summary>
/// RFC 8489 §9.2.2: the long-term credential key, MD5 or SHA-256 of
/// <c>username ":" realm ":" password</c> after the password and realm are prepared,
/// and §14.4's USERHASH, SHA-256 of <c>username ":" realm</c>.
/// </summary>
internal static class LongTermKey
{
    public const int Md5Length = 16;
    public const int Sha256Length = 32;

    /// <summary>Derives the key for <paramref name="algorithm"/> (PASSWORD-ALGORITHM value); null when the password cannot be prepared.</summary>
    public static byte[]? Derive(ushort algorithm, string username, string realm, string password)
    {
        string? preparedPassword = Saslprep.Prepare(password);
        string? preparedRealm = Saslprep.Prepare(realm);
        if (preparedPassword is null || preparedRealm is null)
        {
            return null;
        }

        byte[] input = Encoding.UTF8.GetBytes(username + ":" + preparedRealm + ":" + preparedPassword);
        return algorithm == PasswordAlgorithm.Sha256 ? SHA256.HashData(input) : MD5.HashData(input);
    }

    public static byte[] UserHash(string username, string realm)
        => SHA256.HashData(Encoding.UTF8.GetBytes(username + ":" + (Saslprep.Prepare(realm) ?? realm)));
}
