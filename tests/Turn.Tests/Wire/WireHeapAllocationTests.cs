using System.Net.Sockets;
using Turn.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Wire;

/// <summary>The per-packet path allocates nothing: parse a request, write the response, in the caller's buffers.</summary>
public sealed class WireHeapAllocationTests(ITestOutputHelper output)
{
    private const int Rounds = 10_000;

    private static readonly StunAddress Mapped = new(AddressFamily.InterNetwork, 0xC0000201, 32853);

    [Fact]
    public void ParseBindingRequestAndWriteSuccessResponse_AllocatesNothing()
    {
        byte[] request = Vectors.Load(Vectors.Rfc5769Request);
        byte[] response = new byte[1500];
        RespondToBinding(request, response);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int written = 0;
        for (int i = 0; i < Rounds; i++)
        {
            written += RespondToBinding(request, response);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"parse + respond x{Rounds}: {allocated} bytes allocated, {written} bytes written");
        Assert.Equal(0, allocated);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(response.AsSpan(0, written / Rounds), out StunMessage parsed));
        Assert.Equal(StunClass.SuccessResponse, parsed.Class);
    }

    [Fact]
    public void VerifyAndComputeMessageIntegrity_AllocatesNothing()
    {
        byte[] request = Vectors.Load(Vectors.Rfc5769Request);
        byte[] longTerm = Vectors.Load(Vectors.Rfc8489Sha256Request);
        byte[] shortKey = VectorCredentials.ShortTermKey;
        byte[] sha256Key = VectorCredentials.Sha256Key;
        byte[] response = new byte[1500];
        AuthenticatedRound(request, longTerm, shortKey, sha256Key, response);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int verified = 0;
        for (int i = 0; i < Rounds; i++)
        {
            verified += AuthenticatedRound(request, longTerm, shortKey, sha256Key, response);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"MI + MI-SHA256 verify and compute x{Rounds}: {allocated} bytes allocated");
        Assert.Equal(3 * Rounds, verified);
        Assert.Equal(0, allocated);
    }

    private static int RespondToBinding(ReadOnlySpan<byte> datagram, Span<byte> buffer)
    {
        if (StunMessage.TryParse(datagram, out StunMessage request) != StunParseStatus.Ok
            || request.Method != StunMethod.Binding || request.Class != StunClass.Request
            || !TextAttribute.TryRead(request, StunAttributeType.Username, out _))
        {
            return 0;
        }

        var writer = StunWriter.ForResponse(buffer, request, StunClass.SuccessResponse);
        writer.AddXorAddress(StunAttributeType.XorMappedAddress, Mapped);
        writer.AddText(StunAttributeType.Software, "turn");
        writer.AddFingerprint();
        return writer.Length;
    }

    private static int AuthenticatedRound(byte[] shortTerm, byte[] longTerm, byte[] shortKey, byte[] sha256Key, Span<byte> buffer)
    {
        int verified = 0;
        if (StunMessage.TryParse(shortTerm, out StunMessage request) == StunParseStatus.Ok
            && MessageIntegrity.Verify(request.Raw, request.IntegrityOffset, sha256: false, shortKey))
        {
            verified++;
        }

        if (StunMessage.TryParse(longTerm, out StunMessage sha256Request) == StunParseStatus.Ok
            && MessageIntegrity.Verify(sha256Request.Raw, sha256Request.IntegritySha256Offset, sha256: true, sha256Key))
        {
            verified++;
        }

        var writer = StunWriter.ForResponse(buffer, request, StunClass.SuccessResponse);
        writer.AddXorAddress(StunAttributeType.XorMappedAddress, Mapped);
        writer.AddMessageIntegrity(shortKey);
        writer.AddMessageIntegritySha256(sha256Key);
        writer.AddFingerprint();
        if (StunMessage.TryParse(writer.Written, out StunMessage response) == StunParseStatus.Ok
            && MessageIntegrity.Verify(response.Raw, response.IntegritySha256Offset, sha256: true, sha256Key))
        {
            verified++;
        }

        return verified;
    }
}
