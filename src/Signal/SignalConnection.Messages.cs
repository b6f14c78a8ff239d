namespace Turn.Signal;

/// <summary>The protocol's side of a connection: each client message dispatched, checked and answered (docs/signaling.md).</summary>
internal sealed partial class SignalConnection
{
    /// <summary>Handles one message; a task when its answer waits (a join across daemons), else null.</summary>
    private Task? Dispatch(ReadOnlySpan<byte> utf8)
    {
        if (!ClientMessage.TryParse(utf8, out ClientMessage message, out string problem))
        {
            Reply(SignalError.BadJson, problem);
            return null;
        }

        if (message.Type is null)
        {
            Reply(SignalError.BadRequest, "\"type\" is missing", message.Id);
            return null;
        }

        _hub.Metrics.Message(message.Type);
        switch (message.Type)
        {
            case "join":
                return Join(message);
            case "offer" or "answer" or "candidate" or "message":
                Addressed(message);
                break;
            case "broadcast":
                if (RequireJoined(message) && _hub.Broadcast(_peer!, SignalMessages.Relayed("broadcast", _peer!.Id, message.Data), owner: this, relay: true) < 0)
                {
                    LostSeat(message);
                }

                break;
            case "leave":
                if (RequireJoined(message))
                {
                    if (_hub.Leave(_peer!, owner: this))
                    {
                        _peer = null;
                    }
                    else
                    {
                        LostSeat(message);
                    }
                }

                break;
            case "ice-servers":
                IceServers(message);
                break;
            case "ping":
                TrySend(SignalMessages.Pong(message.Id));
                break;
            default:
                Reply(SignalError.UnknownType, $"unknown message type \"{Truncate(message.Type)}\"", message.Id);
                break;
        }

        return null;
    }

    /// <summary>Answers a join; a task when the answer waits on the rooms across daemons, else null.</summary>
    private Task? Join(in ClientMessage message)
    {
        if (_peer is not null)
        {
            if (RequireJoined(message))
            {
                Reply(SignalError.AlreadyJoined, $"already in room \"{_peer.Room.Name}\"; leave first", message.Id);
            }

            return null;
        }

        SignalOptions options = _hub.Options;
        long nowMs = NowMs();
        if (message.Resume is not null)
        {
            // A resume needs no token (the resume token is the credential) and is not a join to
            // count. Credentials are minted only once the seat is found; past the address's rate
            // it gets its seat back with STUN only, and can ask again later.
            Func<Peer, byte[]> joined = peer => SignalMessages.Joined(peer, IceServersFor(peer, _hub.TryMint(_source, options, nowMs)), resumed: true);
            Peer? resumed = _hub.Resume(message.Resume, this, joined);
            if (resumed is null && _hub.Linked)
            {
                // Perhaps another daemon holds the seat.
                return ResumedAcross(message.Resume, message.Id, joined);
            }

            Resumed(resumed, message.Id);
            return null;
        }

        if (!_hub.Sources.TryJoin(_source, options, nowMs))
        {
            Reply(SignalError.RateLimited, $"more than {options.JoinsPerSecond} joins per second from this address", message.Id);
            return null;
        }

        if (string.IsNullOrEmpty(message.Room) || message.Room.Length > 128)
        {
            Reply(SignalError.BadRequest, "\"room\" must be a string of 1 to 128 characters", message.Id);
            return null;
        }

        if (!Admitted(message, options, out string why))
        {
            Reply(SignalError.BadToken, why, message.Id);
            return null;
        }

        if (message.Name is { Length: > 128 } || message.Meta.Length > 4096)
        {
            Reply(SignalError.BadRequest, "\"name\" is limited to 128 characters and \"meta\" to 4096 bytes", message.Id);
            return null;
        }

        if (!_hub.Sources.TryMint(_source, options, nowMs))
        {
            Reply(SignalError.RateLimited, $"more than {options.CredentialsPerMinute} sets of TURN credentials a minute for this address", message.Id);
            return null;
        }

        // Without rooms across daemons this completes at once; with them it waits on Redis.
        string room = message.Room;
        string? id = message.Id;
        ValueTask<(Peer? Peer, string? Error, string? Why)> joining = _hub.Join(room, message.Name, message.Meta.IsEmpty ? null : message.Meta.ToArray(), this, _source, _share, nowMs);
        if (joining.IsCompletedSuccessfully)
        {
            Seated(joining.Result, room, id);
            return null;
        }

        return SeatedLater(joining, room, id);
    }

    private async Task ResumedAcross(string token, string? id, Func<Peer, byte[]> joined)
        => Resumed(await _hub.ResumeAcross(token, this, _source, _share, joined).ConfigureAwait(false), id);

    private void Resumed(Peer? resumed, string? id)
    {
        if (resumed is null)
        {
            Reply(SignalError.ResumeFailed, "the resume token is unknown or its grace window has passed; join again", id);
            return;
        }

        _peer = resumed;
        SignalLog.Resumed(_logger, resumed.Id, resumed.Room.Name);
    }

    private async Task SeatedLater(ValueTask<(Peer? Peer, string? Error, string? Why)> joining, string room, string? id)
        => Seated(await joining.ConfigureAwait(false), room, id);

    private void Seated((Peer? Peer, string? Error, string? Why) joined, string room, string? id)
    {
        (Peer? peer, string? error, string? limit) = joined;
        if (peer is null)
        {
            Reply(error!, error switch
            {
                SignalError.RoomFull => $"room \"{room}\" has {_hub.Options.MaxPeersPerRoom} peers already",
                SignalError.TooManyRooms => "the server holds as many rooms as it may",
                SignalError.AddressLimit or SignalError.RateLimited => limit!,
                _ => "the server is draining; try another",
            }, id);
            return;
        }

        _peer = peer;
        TrySend(SignalMessages.Joined(peer, _hub.IceServers.GetIceServers(peer.Id), resumed: false));
        SignalLog.Joined(_logger, peer.Id, peer.Room.Name);
    }

    /// <summary>
    /// The admission model (docs/signaling.md, "Who may join"): a join token signed by the
    /// application's backend when Signal:JoinTokenSecret is set; anyone with
    /// Signal:UnsafeOpenAdmission; otherwise clients on this host only.
    /// </summary>
    private bool Admitted(in ClientMessage message, SignalOptions options, out string why)
    {
        why = "";
        switch (options.Admission)
        {
            case SignalAdmission.JoinToken:
                return JoinToken.Verify(message.Token, options.JoinTokenSecret!, message.Room, _time.GetUtcNow().ToUnixTimeSeconds(), out why);
            case SignalAdmission.Open:
                return true;
            default:
                why = "this server admits clients on its own host only until Signal:JoinTokenSecret is set";
                return _local;
        }
    }

    /// <summary>Fresh iceServers for the joined peer, within the address's credential rate.</summary>
    private void IceServers(in ClientMessage message)
    {
        if (!RequireJoined(message))
        {
            return;
        }

        SignalOptions options = _hub.Options;
        string? id = message.Id;
        byte[]? answer = _hub.MintFor(_peer!, this, () => _hub.TryMint(_source, options, NowMs()), servers => SignalMessages.IceServers(servers, id), out bool owner);
        if (!owner)
        {
            LostSeat(message);
        }
        else if (answer is null)
        {
            Reply(SignalError.RateLimited, $"more than {options.CredentialsPerMinute} sets of TURN credentials a minute for this address", message.Id);
        }
        else
        {
            TrySend(answer);
        }
    }

    /// <summary>The peer's iceServers, with TURN credentials only when <paramref name="mint"/>.</summary>
    private IReadOnlyList<IceServer> IceServersFor(Peer peer, bool mint)
    {
        IReadOnlyList<IceServer> servers = _hub.IceServers.GetIceServers(peer.Id);
        return mint ? servers : [.. servers.Where(s => s.Username is null)];
    }

    private long NowMs() => (long)(_time.GetTimestamp() * (1000.0 / _time.TimestampFrequency));

    private void Addressed(in ClientMessage message)
    {
        if (!RequireJoined(message))
        {
            return;
        }

        if (string.IsNullOrEmpty(message.To))
        {
            Reply(SignalError.BadRequest, $"\"{message.Type}\" needs \"to\"", message.Id);
            return;
        }

        switch (_hub.SendTo(_peer!, message.To, SignalMessages.Relayed(message.Type!, _peer!.Id, message.Data), owner: this))
        {
            case Delivery.UnknownPeer:
                Reply(SignalError.UnknownPeer, $"no peer \"{Truncate(message.To)}\" in this room", message.Id);
                break;
            case Delivery.NotOwner:
                LostSeat(message);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Whether this connection holds a seat. A seat another connection has resumed is no longer
    /// this one's: it gets not-joined and is closed, and can do nothing to the seat. The hub checks
    /// again under the room's lock when it acts, so a resume racing this message wins too.
    /// </summary>
    private bool RequireJoined(in ClientMessage message)
    {
        Peer? peer = _peer;
        if (peer is not null && peer.Sink == this && !peer.HasLeft)
        {
            return true;
        }

        if (peer is null)
        {
            Reply(SignalError.NotJoined, "join a room first", message.Id);
        }
        else
        {
            LostSeat(message);
        }

        return false;
    }

    /// <summary>The seat went to another connection: this one is told and closed.</summary>
    private void LostSeat(in ClientMessage message)
    {
        _peer = null;
        Reply(SignalError.NotJoined, "this seat was resumed on another connection", message.Id);
        Close("resumed elsewhere");
    }

    private void Reply(string code, string text, string? id = null)
    {
        _hub.Metrics.Error(code);
        TrySend(SignalMessages.Error(code, text, id));
    }

    private bool TakeToken()
    {
        int rate = _hub.Options.MessagesPerSecond;
        if (rate <= 0)
        {
            return true;
        }

        long now = _time.GetTimestamp();
        _tokens = Math.Min(rate * 2, _tokens + (_time.GetElapsedTime(_lastRefill, now).TotalSeconds * rate));
        _lastRefill = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }
}
