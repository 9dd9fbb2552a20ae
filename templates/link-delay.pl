#!/usr/bin/perl
# repl-lab link delay: network latency on a standby's replication link without netem. Each node runs
# two of these, started by its entrypoint:
#   link-delay.pl standby-end <port> <primary-end port>  listens on 127.0.0.1:<port>; the standby's
#       primary_conninfo points here, with the upstream and the delay (ms) in its options
#       (options=-crepl_lab.link=leader/50). It holds the standby's bytes
#       (replies, feedback) for the delay, then sends them to the upstream's primary end.
#   link-delay.pl primary-end <port> <server port>  listens on every address at <port>; connects each
#       link to the local server and holds the server's bytes (WAL) for the delay the standby end asked for.
#   link-delay.pl fixed-end <port> <server port> <ms>  HA mode, where Patroni writes primary_conninfo
#       itself and a standby end cannot be put in it: the node's connect_address is this port, and both
#       directions are held here for <ms>, the server's bytes as the primary end holds them.
# Bytes wait on the side that sends them, as packets wait in the sending host's queue under netem:
# when a node dies, what it still had queued dies with it. Order is kept; a delay change applies to
# bytes read after it and never reorders.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

# A signal must never end this process with a signal status: it may be a child of the postmaster's
# container init, and an unknown child dying from a signal is a crash to some inits.
$SIG{PIPE} = 'IGNORE';
$SIG{$_} = sub { exit 0 } for qw(INT TERM HUP QUIT);

my ($mode, $port, $target_port, $fixed_ms) = @ARGV;
die "usage: link-delay.pl standby-end|primary-end <port> <target port> | fixed-end <port> <target port> <ms>\n"
  unless $mode && $port && $target_port && $mode =~ /^(standby-end|primary-end|fixed-end)$/
  && ($mode ne 'fixed-end' || (defined $fixed_ms && $fixed_ms =~ /^\d+(\.\d+)?$/));

my $listener = IO::Socket::INET->new(
  LocalAddr => $mode eq 'standby-end' ? '127.0.0.1' : '0.0.0.0',
  LocalPort => $port, Listen => 64, ReuseAddr => 1, Blocking => 0,
) or die "link-delay: cannot listen on $port: $!\n";

my $select = IO::Select->new($listener);
my %peer;       # socket => the socket it forwards to
my %held;       # socket => [[release_time, bytes], ...] waiting before being written to it
my %outgoing;   # socket => bytes ready to write (already released)
my %delay_to;   # socket => seconds to hold bytes written to it
my %last_release;  # socket => latest release time queued, so order is kept when the delay shrinks
my %pending;    # standby end: accepted socket => bytes read before its upstream is known
my %closing;    # socket => 1 once its peer has closed: close it when its queues are empty

sub nonblocking { my ($socket) = @_; $socket->blocking(0); setsockopt($socket, IPPROTO_TCP, TCP_NODELAY, 1); $socket }

sub hold {
  my ($to, $bytes) = @_;
  my $release = time + ($delay_to{$to} || 0);
  $release = $last_release{$to} if defined $last_release{$to} && $release < $last_release{$to};
  $last_release{$to} = $release;
  push @{ $held{$to} }, [$release, $bytes];
}

sub drop {
  my ($socket) = @_;
  for my $s ($socket, $peer{$socket} // ()) {
    next unless $s;
    $select->remove($s);
    delete @{$_}{$s} for \%peer, \%held, \%outgoing, \%delay_to, \%last_release, \%pending, \%closing;
    close $s;
  }
}

# The standby end reads the walreceiver's startup packet for the upstream and the delay.
sub startup_options {
  my ($bytes) = @_;
  return undef if length($bytes) < 8;
  my ($length, $code) = unpack('NN', $bytes);
  return undef if length($bytes) < $length;
  return {} if $code != 196608;  # not a protocol 3.0 startup packet
  my %fields = split /\0/, substr($bytes, 8, $length - 8);
  my $options = $fields{options} // '';
  my ($upstream, $delay) = $options =~ m{repl_lab\.link=([A-Za-z0-9_.-]+)/(\d+(?:\.\d+)?)};
  return { upstream => $upstream, delay => $delay };
}

sub link_to_upstream {
  my ($client) = @_;
  my $found = startup_options($pending{$client});
  return unless defined $found;
  unless ($found->{upstream}) { drop($client); return }
  my $upstream = IO::Socket::INET->new(PeerAddr => $found->{upstream}, PeerPort => $target_port, Timeout => 5);
  unless ($upstream) { drop($client); return }
  nonblocking($upstream);
  my $seconds = ($found->{delay} || 0) / 1000;
  $peer{$client} = $upstream;
  $peer{$upstream} = $client;
  $delay_to{$upstream} = $seconds;  # the standby's bytes wait here, on its side
  $select->add($upstream);
  # The primary end is told the delay for its direction in one line, ahead of the stream.
  $outgoing{$upstream} = sprintf("%.6f\n", $seconds);
  hold($upstream, delete $pending{$client});
}

sub accept_link {
  my $client = $listener->accept or return;
  nonblocking($client);
  $select->add($client);
  if ($mode eq 'fixed-end') {
    # No header: the delay is fixed, for both directions.
    $pending{$client} = sprintf("%.6f\n", $fixed_ms / 1000);
    primary_end_header($client);
    $delay_to{$peer{$client}} = $fixed_ms / 1000 if $peer{$client};
    return;
  }
  # Standby end: until the startup packet names the upstream. Primary end: until the delay line.
  $pending{$client} = '';
}

sub primary_end_header {
  my ($client) = @_;
  my $at = index($pending{$client}, "\n");
  return if $at < 0;
  my $seconds = substr($pending{$client}, 0, $at) + 0;
  my $rest = substr($pending{$client}, $at + 1);
  delete $pending{$client};
  my $server = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $target_port, Timeout => 5);
  unless ($server) { drop($client); return }
  nonblocking($server);
  $peer{$client} = $server;
  $peer{$server} = $client;
  $delay_to{$client} = $seconds;  # the server's bytes wait here, on the primary's side
  $select->add($server);
  $outgoing{$server} .= $rest;
}

while (1) {
  my $now = time;
  my $wait = 0.05;
  for my $to (keys %held) {
    my $queue = $held{$to};
    next unless $queue && @$queue;
    my $until = $queue->[0][0] - $now;
    $wait = $until if $until < $wait;
  }
  $wait = 0 if $wait < 0;
  my @writable = grep { defined $outgoing{$_} && length $outgoing{$_} } keys %outgoing;
  my %by_name = map { ("$_" => $_) } $select->handles;
  my $writers = IO::Select->new(map { $by_name{$_} // () } @writable);
  my ($readable, $ready_to_write) = IO::Select->select($select, $writers, undef, $wait);

  for my $socket (@{ $readable || [] }) {
    if ($socket == $listener) { accept_link(); next }
    my $bytes;
    my $read = sysread($socket, $bytes, 65536);
    next if !defined $read && ($!{EAGAIN} || $!{EWOULDBLOCK});
    if (!$read) {
      # End of stream: the other side closes once everything held for it has gone.
      my $other = $peer{$socket};
      $select->remove($socket);
      if ($other) { $closing{$other} = 1; delete $peer{$other} } else { drop($socket) }
      delete $peer{$socket};
      close $socket;
      next;
    }
    if (exists $pending{$socket}) {
      $pending{$socket} .= $bytes;
      if ($mode eq 'standby-end') { link_to_upstream($socket) } else { primary_end_header($socket) }
      next;
    }
    my $to = $peer{$socket} or next;
    hold($to, $bytes);
  }

  $now = time;
  for my $to (keys %held) {
    my $queue = $held{$to};
    while ($queue && @$queue && $queue->[0][0] <= $now) {
      $outgoing{$to} .= (shift @$queue)->[1];
    }
  }

  for my $name (keys %outgoing) {
    my $socket = $by_name{$name} // next;
    next unless length($outgoing{$name} // '');
    my $written = syswrite($socket, $outgoing{$name});
    if (!defined $written) { drop($socket) unless $!{EAGAIN} || $!{EWOULDBLOCK}; next }
    substr($outgoing{$name}, 0, $written) = '';
  }

  for my $name (keys %closing) {
    my $socket = $by_name{$name};
    my $empty = !length($outgoing{$name} // '') && !@{ $held{$name} || [] };
    next unless $empty || !$socket;
    $socket ? drop($socket) : delete $closing{$name};
  }
}
