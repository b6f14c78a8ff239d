using System.Net;
using Microsoft.Extensions.Configuration;
using Turn.Hosting;
using Xunit;
using Turn.Configuration;

namespace Turn.Tests.Hosting;

public class TurnOptionsReaderTests
{
    [Fact]
    public void EmptyConfiguration_GivesTheDocumentedDefaults()
    {
        ValidationResult result = TurnOptionsReader.Read(Config());

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        TurnOptions options = result.Options;
        Assert.Equal(3478, options.Listen.UdpPort);
        Assert.Equal(3478, options.Listen.TcpPort);
        Assert.Equal(5349, options.Listen.TlsPort);
        Assert.Equal([IPAddress.Any, IPAddress.IPv6Any], options.Listen.Addresses);
        Assert.Equal(["udp", "tcp", "tls"], options.Listen.Transports);
        Assert.Null(options.Tls.CertificateFile);
        Assert.Null(options.Rfc5780.AlternateAddress);
    }

    [Fact]
    public void ExampleFile_IsValidAndMatchesTheDefaults()
    {
        string example = Repository.PathOf("turn.example.json");

        ValidationResult result = TurnConfiguration.Load(example, out _);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(new TurnOptions().Listen.UdpPort, result.Options.Listen.UdpPort);
        Assert.Equal(new TurnOptions().Listen.UdpThreads, result.Options.Listen.UdpThreads);
        Assert.Equal(new TurnOptions().Listen.DataPlane, result.Options.Listen.DataPlane);
        Assert.Equal(new TurnOptions().Tcp, result.Options.Tcp);
        Assert.Equal(new TurnOptions().Software, result.Options.Software);
    }

    [Fact]
    public void WrongPortMissingCertificateAndUnknownTransport_AreAllReportedByKeyAndValue()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(
            ("Listen:UdpPort", "70000"),
            ("Tls:CertificateFile", "/nonexistent/cert.pem"),
            ("Listen:Transports:0", "udp"),
            ("Listen:Transports:1", "sctp")));

        Assert.Equal(3, result.Errors.Count);
        Assert.Contains(result.Errors, e => e.StartsWith("Listen:UdpPort: \"70000\"", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("Tls:CertificateFile: \"/nonexistent/cert.pem\" does not exist", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("Listen:Transports:1: \"sctp\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Listen:TcpPort", "0")]
    [InlineData("Listen:TlsPort", "port")]
    [InlineData("Listen:UdpThreads", "-1")]
    [InlineData("Listen:UdpThreads", "65")]
    [InlineData("Listen:DataPlane", "io_uring")]
    [InlineData("Listen:Addresses:0", "300.1.1.1")]
    [InlineData("Tcp:MaxConnections", "-5")]
    [InlineData("Tcp:IdleTimeoutSeconds", "1.5")]
    [InlineData("Rfc5780:AlternateAddress", "not-an-ip")]
    [InlineData("Metrics:Enabled", "sometimes")]
    [InlineData("Metrics:Urls:0", "metrics.example.org")]
    [InlineData("Drain:DeadlineSeconds", "-1")]
    [InlineData("Drain:ShutdownSeconds", "soon")]
    [InlineData("Drain:AlternateServer", "203.0.113.7")]
    public void BadValue_IsReportedWithItsKey(string key, string value)
    {
        ValidationResult result = TurnOptionsReader.Read(Config((key, value)));

        string error = Assert.Single(result.Errors);
        Assert.StartsWith($"{key}: \"{value}\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationsKeys_AreRead()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(
            ("Metrics:Urls:0", "http://127.0.0.1:9641"),
            ("Admin:ApiKey", "0123456789abcdef"),
            ("Drain:DeadlineSeconds", "600"),
            ("Drain:ShutdownSeconds", "10"),
            ("Drain:AlternateServer", "[2001:db8::7]:3478")));

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(["http://127.0.0.1:9641"], result.Options.Metrics.Urls);
        Assert.True(result.Options.Metrics.Enabled);
        Assert.Equal("0123456789abcdef", result.Options.Admin.ApiKey);
        Assert.Equal(600, result.Options.Drain.DeadlineSeconds);
        Assert.Equal(10, result.Options.Drain.ShutdownSeconds);
        Assert.Equal(IPEndPoint.Parse("[2001:db8::7]:3478"), result.Options.Drain.AlternateServer);
    }

    [Theory]
    [InlineData("Signal:JoinTokenSecret")]
    [InlineData("Signal:ApiKey")]
    public void SignalSecretsShorterThan32Characters_AreRefusedWithoutShowingThem(string key)
    {
        ValidationResult result = TurnOptionsReader.Read(Config((key, "0123456789abcdef0123456789abcde")));

        string error = Assert.Single(result.Errors);
        Assert.Equal($"{key}: is shorter than 32 characters; use a long random value", error);
    }

    [Theory]
    [InlineData("password=hunter2-secret", "names no Redis endpoint")]
    [InlineData("127.0.0.1:6379,password=hunter2-secret,nosuchkey=1", "is not a Redis configuration")]
    public void ABadRedisConfiguration_IsRefusedByKey_WithoutShowingIt(string value, string why)
    {
        ValidationResult result = TurnOptionsReader.Read(Config(("Signal:Redis", value)));

        string error = Assert.Single(result.Errors);
        Assert.StartsWith($"Signal:Redis: {why}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
        Assert.Equal("127.0.0.1:6379,password=x", TurnOptionsReader.Read(Config(("Signal:Redis", "127.0.0.1:6379,password=x"))).Options.Signal.Redis);
    }

    [Fact]
    public void OpenAdmission_IsWarnedAbout_AndContradictingAJoinTokenSecretIsAnError()
    {
        ValidationResult open = TurnOptionsReader.Read(Config(("Signal:UnsafeOpenAdmission", "true")));
        ValidationResult both = TurnOptionsReader.Read(Config(("Signal:UnsafeOpenAdmission", "true"), ("Signal:JoinTokenSecret", new string('s', 40))));

        Assert.True(open.IsValid);
        Assert.Contains(open.Warnings, w => w.StartsWith("Signal:UnsafeOpenAdmission is true: anyone", StringComparison.Ordinal));
        Assert.Equal(Turn.Signal.SignalAdmission.Open, open.Options.Signal.Admission);
        Assert.Contains(both.Errors, e => e.StartsWith("Signal:UnsafeOpenAdmission: \"true\" contradicts Signal:JoinTokenSecret", StringComparison.Ordinal));
    }

    [Fact]
    public void ShortAdminKey_IsRefusedWithoutShowingIt()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(("Admin:ApiKey", "hunter2")));

        string error = Assert.Single(result.Errors);
        Assert.Equal("Admin:ApiKey: is shorter than 16 characters; use a long random value", error);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Fact]
    public void MisspeltKey_IsReportedAsUnknown()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(("Listen:UdpPrt", "3478"), ("Logging:LogLevel:Default", "Debug")));

        string error = Assert.Single(result.Errors);
        Assert.StartsWith("Listen:UdpPrt: is not a known setting", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CommaSeparatedList_IsAcceptedForEnvironmentVariables()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(("Listen:Addresses", "127.0.0.1, ::1"), ("Listen:Transports", "udp")));

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], result.Options.Listen.Addresses);
        Assert.Equal(["udp"], result.Options.Listen.Transports);
    }

    [Fact]
    public void FileThatIsNotJson_IsReported()
    {
        string file = Path.Combine(Path.GetTempPath(), $"turn-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, "{ \"Listen\": ");
        try
        {
            ValidationResult result = TurnConfiguration.Load(file, out _);

            string error = Assert.Single(result.Errors);
            Assert.Contains("is not valid JSON", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Rfc5780_NeedsASpecificPrimaryAndADistinctPort()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(
            ("Rfc5780:AlternateAddress", "127.0.0.2"),
            ("Rfc5780:AlternatePort", "3478")));

        Assert.Equal(2, result.Errors.Count);
        Assert.Contains(result.Errors, e => e.StartsWith("Rfc5780:AlternateAddress: \"127.0.0.2\" needs a specific", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("Rfc5780:AlternatePort: \"3478\"", StringComparison.Ordinal));
    }

    [Fact]
    public void TcpAndTlsOnOnePort_IsRefused()
    {
        ValidationResult result = TurnOptionsReader.Read(Config(("Listen:TlsPort", "3478")));

        string error = Assert.Single(result.Errors);
        Assert.StartsWith("Listen:TlsPort: \"3478\" is also Listen:TcpPort", error, StringComparison.Ordinal);
    }

    private static IConfiguration Config(params (string Key, string Value)[] pairs)
        => new ConfigurationBuilder()
            .AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)))
            .Build();
}
