using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Turn.Signal;

/// <summary>
/// Signed join tokens, so only the operator's application can let people into rooms:
/// <c>base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload)))</c> with the payload
/// <c>{"room":"name","exp":unix-seconds}</c> ("room":"*" admits any room).
/// </summary>
public static class JoinToken
{
    public static string Create(string secret, string room, long expiresUnixSeconds)
    {
        var json = new System.Buffers.ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteString("room", room);
            writer.WriteNumber("exp", expiresUnixSeconds);
            writer.WriteEndObject();
        }

        string payload = Base64Url(json.WrittenSpan);
        return payload + "." + Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(payload)));
    }

    /// <summary>A valid, unexpired token for any room.</summary>
    public static bool VerifyAnyRoom(string? token, string secret, long nowUnixSeconds)
        => Verify(token, secret, null, nowUnixSeconds, out _);

    public static bool Verify(string? token, string secret, string? room, long nowUnixSeconds, out string problem)
    {
        problem = "a join token is required";
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        int dot = token.IndexOf('.', StringComparison.Ordinal);
        problem = "the join token is malformed";
        if (dot <= 0 || dot == token.Length - 1)
        {
            return false;
        }

        byte[] expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(token[..dot]));
        byte[]? signature = FromBase64Url(token[(dot + 1)..]);
        byte[]? payload = FromBase64Url(token[..dot]);
        if (signature is null || payload is null)
        {
            return false;
        }

        problem = "the join token's signature does not verify";
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            return false;
        }

        problem = "the join token's payload is not {\"room\": string, \"exp\": integer}";
        try
        {
            using JsonDocument document = JsonDocument.Parse(payload);
            string? tokenRoom = document.RootElement.GetProperty("room").GetString();
            long expires = document.RootElement.GetProperty("exp").GetInt64();
            if (tokenRoom is null)
            {
                return false;
            }

            if (expires <= nowUnixSeconds)
            {
                problem = "the join token has expired";
                return false;
            }

            if (room is not null && tokenRoom != "*" && tokenRoom != room)
            {
                problem = "the join token is for another room";
                return false;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return false;
        }

        problem = "";
        return true;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Canonical base64url only (RFC 4648 §5, no padding, unused bits zero): decoding and encoding
    /// again must give the same text, so one token has one spelling.
    /// </summary>
    private static byte[]? FromBase64Url(string text)
    {
        if (text.Length % 4 == 1 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')))
        {
            return null;
        }

        string padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        try
        {
            byte[] bytes = Convert.FromBase64String(padded);
            return Base64Url(bytes) == text ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
