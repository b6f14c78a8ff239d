using System.Globalization;
using System.Text;

namespace Turn.Tests.Attack;

/// <summary>An HTTP/1.1 answer as it came off the socket: the status, the header block and the body (de-chunked).</summary>
internal sealed record EndpointAccessResponse(int Status, string Head, string Body)
{
    /// <summary>Whether the body names one of the TURN REST credential fields of an ICE server.</summary>
    public bool CarriesTurnCredentials
        => Body.Contains("\"credential\"", StringComparison.OrdinalIgnoreCase) || Body.Contains("\"username\"", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a whole close-delimited response; a connection closed without one gives status 0.</summary>
    public static EndpointAccessResponse Parse(byte[] received)
    {
        string text = Encoding.UTF8.GetString(received);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string head = end < 0 ? text : text[..end];
        string body = end < 0 ? "" : text[(end + 4)..];
        string[] statusLine = head.Split("\r\n")[0].Split(' ');
        int status = statusLine.Length > 1 && int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) ? parsed : 0;
        if (head.Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new EndpointAccessResponse(status, head, body);
    }

    private static string Dechunk(string chunked)
    {
        var body = new StringBuilder();
        int at = 0;
        while (at < chunked.Length)
        {
            int lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (lineEnd < 0 || !int.TryParse(chunked.AsSpan(at, lineEnd - at).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int size) || size == 0)
            {
                break;
            }

            int start = lineEnd + 2;
            body.Append(chunked, start, Math.Min(size, chunked.Length - start));
            at = start + size + 2;
        }

        return body.ToString();
    }

    public override string ToString() => $"{Status}, body \"{(Body.Length > 300 ? Body[..300] + "..." : Body)}\"";
}
