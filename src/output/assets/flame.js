/* flame.js — the script of the svg flame graph (svg.c embeds it, see
 * src/output/assets.h, after a line setting T (the total weight), FW (the
 * frames' width), CW (a character's width) and NSU (1: weights are
 * nanoseconds)). Reads everything it needs from the markup: a frame's row is
 * its depth, its exact start and weight come back from x and width, its name
 * and place from the title's first two lines. Never parses markup from names:
 * textContent only. Checked by `node --check` (tests/assets). */
(function(){'use strict';
var NS='http://www.w3.org/2000/svg',svg=document.documentElement,$=function(i){return document.getElementById(i)};
var F=$('f'),tip=$('tip'),tr=tip.firstChild,tt=tip.lastChild,M=$('m'),RZ=$('rz'),SB=$('sb'),HL='#e040e0';
var fr=[],zoomed=null,term=null;
[].forEach.call(F.children,function(row,d){[].forEach.call(row.children,function(g){
 var r=g.getElementsByTagName('rect')[0],x=+r.getAttribute('x'),w=+r.getAttribute('width');
 g._f=fr.length;fr.push({g:g,r:r,t:g.getElementsByTagName('text')[0]||null,d:d,
  s:Math.round(x*T/FW),n:Math.round(w*T/FW),fill:r.getAttribute('fill'),m:g.getAttribute('class')=='m',ti:null,l:null});});});
function lines(f){if(!f.l){var e=f.ti||f.g.getElementsByTagName('title')[0];f.l=e?e.textContent.split('\n'):['','',''];}return f.l;}
function label(f){var l=lines(f);return l[1]?l[0]+' ('+l[1]+')':l[0];}
function num(n){return Math.round(n).toLocaleString('en-US');}
function wt(n){if(!NSU)return num(n)+(n==1?' sample':' samples');
 return n>=1e9?(n/1e9).toFixed(2)+' s':n>=1e6?(n/1e6).toFixed(2)+' ms':n>=1e3?(n/1e3).toFixed(2)+' us':n+' ns';}
function fit(f,x,w){var c=Math.floor(w/CW),s='';
 if(c>=3){var l=label(f);s=l.length<=c?l:l.slice(0,c-2)+'..';}
 if(!s){if(f.t)f.t.textContent='';return;}
 if(!f.t){f.t=document.createElementNS(NS,'text');f.t.setAttribute('y','11');f.g.appendChild(f.t);}
 f.t.setAttribute('x',(x+3).toFixed(1));if(f.t.textContent!==s)f.t.textContent=s;}
function zoom(z){zoomed=z;var s0=z?z.s:0,n0=z?z.n:T,d0=z?z.d:0;if(!n0)return;
 for(var i=0;i<fr.length;i++){var f=fr[i],x=0,w=FW,vis=true,anc=false;
  if(f.d<d0){if(f.s<=s0&&f.s+f.n>=s0+n0)anc=true;else vis=false;}
  else if(f.s>=s0&&f.s+f.n<=s0+n0){x=(f.s-s0)*FW/n0;w=f.n*FW/n0;}else vis=false;
  if(!vis){f.g.style.display='none';continue;}
  f.g.style.display='';f.g.setAttribute('class',(f.m?'m ':'')+(anc?'a':''));
  f.r.setAttribute('x',x.toFixed(3));f.r.setAttribute('width',w.toFixed(3));fit(f,x,w);}
 RZ.style.display=z&&z.d>0?'':'none';}
function search(t){term=t;var re=null,hits=[];
 if(t){try{re=new RegExp(t);}catch(e){M.textContent='Invalid regular expression';return;}}
 for(var i=0;i<fr.length;i++){var f=fr[i],hit=re&&f.d>0&&!f.m&&re.test(label(f));
  f.r.setAttribute('fill',hit?HL:f.fill);if(hit)hits.push(f);}
 if(!re){M.textContent='';SB.textContent='Search';return;}
 hits.sort(function(a,b){return a.s-b.s||b.n-a.n;});var sum=0,end=0;
 hits.forEach(function(f){var e=f.s+f.n;if(e>end){sum+=e-Math.max(f.s,end);end=e;}});
 M.textContent='Matched: '+(T?(100*sum/T).toFixed(2):'0.00')+'%';SB.textContent='Reset Search';}
function ask(){if(term){search(null);return;}var t=window.prompt('Search (regular expression)','');if(t)search(t);}
function at(e){var g=e.target.closest?e.target.closest('g'):null;return g&&g._f!==undefined?fr[g._f]:null;}
function pt(e){var p=svg.createSVGPoint();p.x=e.clientX;p.y=e.clientY;return p.matrixTransform(svg.getScreenCTM().inverse());}
F.addEventListener('mousemove',function(e){var f=at(e);if(!f){tip.style.display='none';return;}
 if(!f.ti){lines(f);f.ti=f.g.getElementsByTagName('title')[0]||null;if(f.ti)f.g.removeChild(f.ti);}
 var l=lines(f),ls=[l[0]];if(l[1])ls.push(l[1]);
 ls.push(wt(f.n)+', '+(T?(100*f.n/T).toFixed(2):'0.00')+'% of all'+(zoomed&&zoomed.d>0&&zoomed.n?', '+(100*f.n/zoomed.n).toFixed(2)+'% of zoomed':''));
 for(var k=3;k<l.length;k++)if(l[k])ls.push(l[k]);
 while(tt.firstChild)tt.removeChild(tt.firstChild);
 ls.forEach(function(s,k){var sp=document.createElementNS(NS,'tspan');sp.setAttribute('x','6');sp.setAttribute('dy',k?'15':'14');sp.textContent=s;tt.appendChild(sp);});
 tip.style.display='';var b=tt.getBBox(),p=pt(e),W=+svg.getAttribute('width'),H=+svg.getAttribute('height');
 tr.setAttribute('width',b.width+12);tr.setAttribute('height',b.height+8);
 var x=p.x+12,y=p.y+16;if(x+b.width+12>W)x=Math.max(0,p.x-b.width-16);if(y+b.height+8>H)y=Math.max(0,p.y-b.height-12);
 tip.setAttribute('transform','translate('+x.toFixed(1)+','+y.toFixed(1)+')');});
F.addEventListener('mouseleave',function(){tip.style.display='none';});
F.addEventListener('click',function(e){var f=at(e);if(!f)return;tip.style.display='none';zoom(f.d>0?f:null);});
RZ.addEventListener('click',function(){zoom(null);});
SB.addEventListener('click',ask);
document.addEventListener('keydown',function(e){if((e.ctrlKey||e.metaKey)&&e.key=='f'){e.preventDefault();ask();}
 else if(e.key=='Escape'){zoom(null);}});
window.pyflare={zoom:function(i){zoom(i==null?null:fr[i]);},search:search,frames:fr};
try{var q=new URLSearchParams(location.search).get('s');if(q)search(q);}catch(e){}
})();
