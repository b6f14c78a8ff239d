using System.Globalization;
using System.Security.Cryptography;
using System.Text;

// coturn's use-auth-secret signs the username with HMAC-SHA1; matching it is the point.
#pragma warning disable CA5350

namespace Turn.Auth;

/// <summary>
/// TURN REST credentials exactly as coturn's use-auth-secret: the username is
/// <c>&lt;unix-expiry&gt;:&lt;user&gt;</c> (or a bare expiry), the password is
/// <c>base64(HMAC-SHA1(secret, username))</c>, and the long-term key is then derived as for any user.
/// </summary>
internal static class RestCredentials
{
    public static string Password(string secret, string username)
        => Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));

    public static string Username(long expiryUnixSeconds, string? user)
        => string.IsNullOrEmpty(user)
            ? expiryUnixSeconds.ToString(CultureInfo.InvariantCulture)
            : expiryUnixSeconds.ToString(CultureInfo.InvariantCulture) + ":" + user;

    /// <summary>Reads the expiry of a REST username; false when it is not one.</summary>
    public static bool TryGetExpiry(string username, out long expiryUnixSeconds)
    {
        int colon = username.IndexOf(':', StringComparison.Ordinal);
        ReadOnlySpan<char> timestamp = colon < 0 ? username : username.AsSpan(0, colon);
        return long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out expiryUnixSeconds) && timestamp.Length > 0;
    }
}
