using System.Net;
using System.Net.Sockets;

namespace Turn.Signal;

/// <summary>
/// Who a limit counts a client as: its IPv4 address (an IPv4-mapped one as itself), or the /64
/// of its IPv6 address, which one host or site holds.
/// </summary>
internal static class SourceAddress
{
    public static UInt128 KeyOf(IPAddress? address)
    {
        if (address is null)
        {
            return UInt128.Zero;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return new UInt128(1, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        return new UInt128(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[..8]), 0);
    }

    public static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    /// <summary>
    /// Whether a request comes from this host: a loopback address, and no forwarding header left
    /// unprocessed. A reverse proxy or sidecar on the host connects from loopback on behalf of
    /// clients anywhere; only a proxy the host application trusts has its headers consumed (and the
    /// client's address put in their place), so a header still present means "someone else".
    /// </summary>
    public static bool IsLocal(Microsoft.AspNetCore.Http.HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Microsoft.AspNetCore.Http.IHeaderDictionary headers = context.Request.Headers;
        return IsLoopback(context.Connection.RemoteIpAddress)
            && headers["X-Forwarded-For"].Count == 0
            && headers["Forwarded"].Count == 0
            && headers["X-Real-IP"].Count == 0;
    }
}
