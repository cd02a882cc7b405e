# Renders each line of CASES alone with Jekyll's Liquid (render!, as a build does), in a site
# whose _config.yml is CONFIG; prints the line, then `=> [output]` or `=> !! message`.
# usage: ruby jekyll.rb CASES CONFIG
require "jekyll"
require "tmpdir"
cfg = Jekyll::Utils.safe_load_yaml(File.read(ARGV[1])) || {}
Jekyll.logger.log_level = :error
dir = Dir.mktmpdir
conf = Jekyll.configuration(cfg.merge("source" => dir, "destination" => File.join(dir, "_site"), "quiet" => true))
site = Jekyll::Site.new(conf)
payload = site.site_payload
File.readlines(ARGV[0], chomp: true).each do |line|
  next if line.strip.empty?
  begin
    out = Liquid::Template.parse(line, line_numbers: true).render!(payload, registers: { site: site })
    puts "#{line}\n    => [#{out}]"
  rescue Exception => e
    message = e.message.lines.first.to_s.strip.sub(/\ALiquid error \(line \d+\): /, "")
    puts "#{line}\n    => !! #{message}"
  end
end
